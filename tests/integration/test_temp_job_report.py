"""The 131 report: per region, people with an open temp_job case and how many are still owed each part of the
service (JSON and Excel), scoped to the caller's region; and the OpenAPI spec lists the new routes."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from engine import service131, services
from engine.actors import Actor
from engine.errors import DataInvalid, NotFound
from engine.validation import REGION_MESSAGE
from tests.conftest import at, make_user
from tests.factories import complete
from tests.integration.test_temp_job_process import GUIDANCE, OFFERS, TRAINING, intake

PASSWORD = "correct-horse-9"
T = at("2021-02-01 09:00")


@pytest.fixture
def people(ctx):
    cx = Actor.of(make_user("clerk_cx", ["clerk"], "532301"))
    sb = Actor.of(make_user("clerk_sb", ["clerk"], "532322"))
    sup = Actor.of(make_user("sup_cz", ["supervisor"], "532300"))

    def case(actor: Actor, region: str, n: int, *parts: tuple[str, dict]):
        c = services.open_case(actor, "temp_job", region, intake(id_prefix=f"{region}199001{n:02d}001"), T)
        for name, data in parts:
            c = complete(actor, c, name, data, at("2021-02-05 10:00"))  # after the forms' dates
        return c

    case(cx, "532301", 1)                                                                   # owes all three
    case(cx, "532301", 2, ("career_guidance", GUIDANCE))                                    # owes offers, training
    case(cx, "532301", 3, ("career_guidance", GUIDANCE), ("job_offers", OFFERS), ("training", TRAINING))  # served
    case(sb, "532322", 4, ("job_offers", OFFERS))                                           # owes guidance, training
    case(cx, "532301", 5, ("market_outcome", {"market_outcome": "employed", "employer": "某公司"}))  # closed
    return cx, sb, sup


def test_counts_per_region(people):
    cx, sb, sup = people
    report = service131.report_131(sup)
    assert report["by_region"] == [
        {"region": "532301", "region_name": "楚雄市", "people": 3, "career_guidance": 1, "job_offers": 2,
         "training": 2, "owed_any": 2, "served": 1},
        {"region": "532322", "region_name": "双柏县", "people": 1, "career_guidance": 1, "job_offers": 0,
         "training": 1, "owed_any": 1, "served": 0},
    ]
    assert report["total"] == {"people": 4, "career_guidance": 2, "job_offers": 2, "training": 3, "owed_any": 3,
                               "served": 1}
    assert [r["region"] for r in service131.report_131(cx)["by_region"]] == ["532301"]
    assert service131.report_131(sup, "532322")["total"]["people"] == 1
    assert service131.report_131(sup, "532300")["total"]["people"] == 4
    with pytest.raises(NotFound):
        service131.report_131(cx, "532322")
    with pytest.raises(DataInvalid) as err:
        service131.report_131(sup, "53")
    assert "region" in err.value.fields


def test_api_json_and_excel(client, people):
    token = client.post("/api/v1/auth/token", json={"username": "sup_cz", "password": PASSWORD}).get_json()["token"]
    h = {"Authorization": f"Bearer {token}"}
    r = client.get("/api/v1/reports/131", headers=h)
    assert r.status_code == 200 and r.get_json()["total"]["people"] == 4
    assert client.get("/api/v1/reports/131?region=abc", headers=h).get_json()["error"]["fields"] == {
        "region": REGION_MESSAGE}
    r = client.get("/api/v1/reports/131.xlsx", headers=h)
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(r.data), read_only=True)
    try:
        rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()
    assert rows[0][:3] == ("区划代码", "区划名称", "在办人数")
    assert rows[1] == ("532301", "楚雄市", 3, 1, 2, 2, 2, 1)
    assert rows[-1] == ("合计", None, 4, 2, 2, 3, 3, 1)
    token = client.post("/api/v1/auth/token", json={"username": "clerk_sb", "password": PASSWORD}).get_json()["token"]
    r = client.get("/api/v1/reports/131?region=532301", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404


def test_openapi_lists_the_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/posts", "/posts/{id}", "/cases/{number}/post-suggestions", "/cases/{number}/match-post",
                 "/reports/131", "/reports/131.xlsx", "/ledger", "/ledger.xlsx", "/ledger/cases"):
        assert path in paths, path
    assert paths["/posts"]["post"]["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "title", "kind", "region", "slots", "monthly_pay", "start_date", "end_date"]
