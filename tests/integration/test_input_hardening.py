"""Input QA found accepted (or answered with a 500): a trailing newline passing the regex checks, deeply nested
JSON, impossible wage-arrears periods and amounts, blank names and post titles, 131 forms dated in the future or
long ago, three identical offers, unknown case statuses and LIKE wildcards in the case search. Every refusal is a
400 naming the field, and changes nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from engine import accounts, services
from engine.actors import Actor
from engine.db import db
from engine.models import AuditEvent, Case, User
from engine.posts import Post
from engine.text_patterns import TEXT_PATTERN
from engine.validation import (
    MONEY_RE,
    PHONE_RE,
    POSITIVE_MONEY_PATTERN,
    REGION_MESSAGE,
    REGION_RE,
    DataInvalid,
    ecma_regex,
    is_region,
    validate,
)
from tests.conftest import at, fixed_clock, make_user
from tests.factories import complete, open_task, wage_arrears_intake
from tests.integration.test_benefit_claim import claim_data
from tests.integration.test_pages import FreshContextClient, field_error, sign_in
from tests.integration.test_pages import post as form_post
from tests.integration.test_temp_job_process import GUIDANCE, OFFERS, TRAINING, intake, new_post, referred_case

API = "/api/v1"
PASSWORD = "correct-horse-9"
CLOCK = at("2021-02-01 09:00")  # a Monday


_fixed_clock = fixed_clock(CLOCK)


@pytest.fixture
def h(ctx, client) -> dict[str, dict[str, str]]:
    """Bearer headers of an inspector and a clerk of Chuxiong city."""
    found = {}
    for name, roles in (("insp_cx", ["inspector"]), ("clerk_cx", ["clerk"])):
        make_user(name, roles, "532301")
        response = client.post(f"{API}/auth/token", json={"username": name, "password": PASSWORD})
        found[name] = {"Authorization": f"Bearer {response.get_json()['token']}"}
    db.session.remove()
    return found


def refused(response, field: str) -> str:
    """The 400's message for `field` (the answer must name it)."""
    assert response.status_code == 400, (response.status_code, response.get_data(as_text=True)[:300])
    fields = response.get_json()["error"].get("fields", {})
    assert field in fields, fields
    return fields[field]


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def open_wage_case(client, headers, data, region="532301"):
    return client.post(f"{API}/cases", json={"process": "wage_arrears", "region": region, "data": data},
                       headers=headers)


def post_body(**overrides) -> dict:
    body = {"title": "社区保洁员", "kind": "sanitation", "region": "532301", "slots": 2, "monthly_pay": "1800.00",
            "start_date": "2021-02-15", "end_date": "2021-05-14"}
    body.update(overrides)
    return body


# ---------------------------------------------------------------------------------------------------------------
# 1. `$` means the end of the value, as in JSON Schema (ECMA-262), not "before a final newline" as in Python.

def test_module_regexes_match_whole_values_and_keep_their_ecma_text():
    assert REGION_RE.match("532301") and not REGION_RE.match("532301\n")
    assert MONEY_RE.match("12500.00") and not MONEY_RE.match("12500.00\n")
    assert PHONE_RE.match("13800138000") and not PHONE_RE.fullmatch("13800138000\n")
    assert not PHONE_RE.search("x13800138000")
    # The published pattern (openapi.json, the HTML forms) stays ECMA text.
    assert MONEY_RE.pattern == r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$"
    assert ecma_regex(r"^a[$]\$b$").pattern == r"^a[$]\$b\Z"
    assert ecma_regex(r"^[\]$]x$").pattern == r"^[\]$]x\Z"


def test_schema_patterns_and_dates_refuse_a_trailing_newline():
    schema = {"type": "object", "properties": {"account": {"type": "string", "pattern": "^[0-9]{12,30}$"},
                                               "day": {"type": "string", "format": "date"}}}
    validate(schema, {"account": "123456789012", "day": "2021-02-01"})
    with pytest.raises(DataInvalid) as err:
        validate(schema, {"account": "123456789012\n", "day": "2021-02-01\n"})
    assert set(err.value.fields) == {"account", "day"}
    with pytest.raises(DataInvalid) as err:
        validate(schema, {"day": "２０２１-０２-０１"})  # fullwidth digits are not YYYY-MM-DD
    assert set(err.value.fields) == {"day"}


@pytest.mark.parametrize(("where", "value", "field"), [
    ("region", "532301\n", "region"),
    ("amount_owed", "12500.00\n", "amount_owed"),
    ("phone", "13800138000\n", "complainant.phone"),
])
def test_trailing_newline_is_refused_when_opening_a_case(client, h, where, value, field):
    data = wage_arrears_intake()
    region = "532301"
    if where == "region":
        region = value
    elif where == "phone":
        data["complainant"]["phone"] = value
    else:
        data[where] = value
    refused(open_wage_case(client, h["insp_cx"], data, region), field)
    assert count(Case) == 0


def test_trailing_newline_is_refused_in_a_benefit_bank_account(client, h):
    response = client.post(f"{API}/cases", headers=h["clerk_cx"], json={
        "process": "benefit_claim", "region": "532301", "data": claim_data(bank_account="123456789012\n")})
    refused(response, "bank_account")
    assert count(Case) == 0


def test_trailing_newline_is_refused_in_posts_and_query_parameters(client, h):
    refused(client.post(f"{API}/posts", json=post_body(region="532301\n"), headers=h["clerk_cx"]), "region")
    assert count(Post) == 0
    refused(client.get(f"{API}/reports/131?region=532301%0A", headers=h["clerk_cx"]), "region")
    refused(client.get(f"{API}/posts?region=532301%0A", headers=h["clerk_cx"]), "region")
    refused(client.get(f"{API}/cases?page=1%0A", headers=h["clerk_cx"]), "page")
    refused(client.get(f"{API}/cases?per_page=%EF%BC%95", headers=h["clerk_cx"]), "per_page")  # fullwidth 5
    refused(client.get(f"{API}/cases?page=" + "9" * 5000, headers=h["clerk_cx"]), "page")


def test_user_region_with_a_trailing_newline_is_refused(ctx):
    """`flask users create --region` goes through accounts.create_user and the module's REGION_RE."""
    with pytest.raises(DataInvalid) as err:
        accounts.create_user("clerk_nl", PASSWORD, ["clerk"], "532301\n", CLOCK)
    assert "region" in err.value.fields
    with pytest.raises(DataInvalid) as err:
        accounts.create_user("clerk_nl\n", PASSWORD, ["clerk"], "532301", CLOCK)
    assert "username" in err.value.fields


# Six digits that name no division in force: 532399 was never a county, 532331 (禄丰县) became 532302 in 2021.
NOT_A_DIVISION = ["532399", "532331", "999999"]


@pytest.mark.parametrize("region", NOT_A_DIVISION)
def test_a_region_code_that_is_no_division_is_refused_everywhere_one_is_written(client, h, region):
    """QA opened a case and a post in 532399: nobody's scope holds such a region, so nobody would see them."""
    assert refused(open_wage_case(client, h["insp_cx"], wage_arrears_intake(), region), "region") == REGION_MESSAGE
    assert refused(client.post(f"{API}/posts", json=post_body(region=region), headers=h["clerk_cx"]),
                   "region") == REGION_MESSAGE
    # A filter still takes it: rows written with a code before it was refused (or abolished) stay findable.
    if REGION_RE.match(region):
        assert client.get(f"{API}/reports/131?region={region}", headers=h["clerk_cx"]).status_code != 400
    with pytest.raises(DataInvalid) as err:
        accounts.create_user("clerk_nowhere", PASSWORD, ["clerk"], region, CLOCK)
    assert err.value.fields == {"region": REGION_MESSAGE}
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    assert db.session.scalar(select(func.count()).select_from(Post)) == 0
    assert db.session.scalar(select(User).where(User.username == "clerk_nowhere")) is None


@pytest.mark.parametrize("region", ["532301", "532302", "532300", "530000", "110101", "441900", "530114", "530126"])
def test_current_divisions_at_every_level_are_region_codes(region):
    assert is_region(region)


@pytest.mark.parametrize("region", ["530101", "429000", "110200"])
def test_groupings_of_the_division_list_are_no_region_codes(region):
    """市辖区 (530101), 省直辖县级行政单位 (429000), 县 (110200, ended): a mistyped county is refused, not a case
    no county's inspector will see."""
    assert not is_region(region)


def test_only_an_administrator_may_have_no_region(ctx):
    """No region is the whole country: an inspector created without one saw every county's cases (QA)."""
    with pytest.raises(DataInvalid) as err:
        accounts.create_user("insp_everywhere", PASSWORD, ["inspector"], "", CLOCK)
    assert set(err.value.fields) == {"region"}
    assert accounts.create_user("admin_everywhere", PASSWORD, ["admin"], "", CLOCK).region == ""


def test_a_division_of_the_installation_newer_than_the_database_is_accepted(monkeypatch):
    """A county created after python-stdnum's division list was made is accepted once the installation has its
    bureau (engine.regions.REGIONS)."""
    from engine import regions

    assert not is_region("532399")
    new_county = regions.Region("532399", "新县", "新县人力资源和社会保障局", "新人社")
    monkeypatch.setitem(regions.REGIONS, "532399", new_county)
    assert is_region("532399")


# ---------------------------------------------------------------------------------------------------------------
# 2. Deeply nested JSON is a 400, never a 500.

@pytest.mark.parametrize("path", ["/cases", "/tasks/x/complete", "/posts", "/auth/token", "/ledger/cases"])
def test_deeply_nested_json_is_a_400_on_every_json_route(client, h, path):
    headers = h["insp_cx"]
    too_deep_to_parse = "[" * 100000 + "]" * 100000
    response = client.post(API + path, data=too_deep_to_parse, content_type="application/json", headers=headers)
    refused(response, "body")
    parsable = '{"data": ' + "[" * 40 + "]" * 40 + "}"
    response = client.post(API + path, data=parsable, content_type="application/json", headers=headers)
    refused(response, "body")
    assert count(Case) == 0


def test_nesting_a_form_needs_is_accepted(client, h):
    data = wage_arrears_intake(roster=[{"name": "李四", "id_number": wage_arrears_intake()["complainant"]["id_number"],
                                        "amount_owed": "100.00"}])
    assert open_wage_case(client, h["insp_cx"], data).status_code == 201


# ---------------------------------------------------------------------------------------------------------------
# 3. Wage-arrears intake.

@pytest.mark.parametrize(("overrides", "field"), [
    ({"period_from": "2020-12-01", "period_to": "2020-11-30"}, "period_to"),
    ({"period_to": "9999-12-31"}, "period_to"),
    ({"period_to": "2021-02-02"}, "period_to"),  # the day after the complaint is received
    ({"amount_owed": "0"}, "amount_owed"),
    ({"amount_owed": "0.00"}, "amount_owed"),
    ({"complainant.name": "   "}, "complainant.name"),
    ({"complainant.name": "\u3000"}, "complainant.name"),
    ({"complainant.name": "李\u0000建国"}, "complainant.name"),
    ({"complainant.name": "李建国\n"}, "complainant.name"),
    ({"employer.name": " "}, "employer.name"),
])
def test_impossible_intake_is_refused_and_changes_nothing(client, h, overrides, field):
    data = wage_arrears_intake()
    for key, value in overrides.items():
        if "." in key:
            outer, inner = key.split(".")
            data[outer][inner] = value
        else:
            data[key] = value
    message = refused(open_wage_case(client, h["insp_cx"], data), field)
    assert message and message != "格式无效"
    assert count(Case) == 0 and count(AuditEvent) == 0


def test_intake_at_the_bounds_is_accepted(client, h):
    data = wage_arrears_intake(period_from="2021-02-01", period_to="2021-02-01", amount_owed="0.01")
    data["complainant"]["name"] = " 普 文华 "
    response = open_wage_case(client, h["insp_cx"], data)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["amount_owed"] == "0.01"


def test_the_period_check_runs_in_the_service(ctx, inspector):
    with pytest.raises(DataInvalid) as err:
        services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(period_to="2021-03-01"), CLOCK)
    assert "2021-02-01" in err.value.fields["period_to"]
    assert count(Case) == 0


def test_schema_patterns_are_the_engine_constants():
    """The messages of TEXT_PATTERN and POSITIVE_MONEY_PATTERN are keyed by their text: the schemas must carry it."""
    from engine import processes

    schema = json.loads(processes.read_files("wage_arrears")["intake.schema.json"])
    assert schema["properties"]["amount_owed"]["pattern"] == POSITIVE_MONEY_PATTERN
    assert schema["properties"]["complainant"]["properties"]["name"]["pattern"] == TEXT_PATTERN
    offers = json.loads(processes.read_files("temp_job")["job_offers.schema.json"])
    assert offers["properties"]["offers"]["items"]["properties"]["job"]["pattern"] == TEXT_PATTERN


# ---------------------------------------------------------------------------------------------------------------
# 4. Posts.

@pytest.mark.parametrize(("overrides", "field"), [
    ({"title": "   "}, "title"),
    ({"title": "保洁员\u0007"}, "title"),
    ({"employer": "\t"}, "employer"),
    ({"monthly_pay": "0"}, "monthly_pay"),
    ({"monthly_pay": "0.00"}, "monthly_pay"),
])
def test_blank_post_title_and_unpaid_post_are_refused(client, h, overrides, field):
    refused(client.post(f"{API}/posts", json=post_body(**overrides), headers=h["clerk_cx"]), field)
    assert count(Post) == 0


def test_editing_a_post_to_a_blank_title_or_no_pay_is_refused(client, h):
    created = client.post(f"{API}/posts", json=post_body(), headers=h["clerk_cx"]).get_json()
    for body, field in (({"title": " "}, "title"), ({"monthly_pay": "0"}, "monthly_pay")):
        refused(client.patch(f"{API}/posts/{created['id']}", json=body, headers=h["clerk_cx"]), field)
    again = client.get(f"{API}/posts/{created['id']}", headers=h["clerk_cx"]).get_json()
    assert (again["title"], again["monthly_pay"]) == ("社区保洁员", "1800.00")


def test_post_form_page_refuses_a_blank_title_and_no_pay(app, h):
    client = FreshContextClient(app, app.response_class, use_cookies=True)  # pages keep the CSRF token in `g`
    sign_in(client, "clerk_cx")
    form = {"title": "   ", "kind": "sanitation", "region": "532301", "slots": "2", "monthly_pay": "0",
            "start_date": "2021-02-15", "end_date": "2021-05-14"}
    response = form_post(client, "/posts/new", form, page="/posts/new")
    assert response.status_code == 400
    assert field_error(response, "title") == "必填"  # the form strips the spaces
    assert "须大于 0" in field_error(response, "monthly_pay")
    assert count(Post) == 0


def test_post_id_past_the_largest_row_id_is_not_found_for_every_method(client, h):
    big = f"{API}/posts/99999999999"
    assert client.get(big, headers=h["clerk_cx"]).status_code == 404
    response = client.patch(big, json={"title": "x"}, headers=h["clerk_cx"])
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert client.patch(f"{API}/posts/5", json={"title": "x"}, headers=h["clerk_cx"]).status_code == 404
    assert client.post(f"{API}/posts/5", json={}, headers=h["clerk_cx"]).status_code == 405


# ---------------------------------------------------------------------------------------------------------------
# 5. The 131 service's forms.

@pytest.fixture
def clerk(h) -> Actor:
    return Actor.of(db.session.scalar(select(User).where(User.username == "clerk_cx")))


def temp_case(clerk: Actor) -> Case:
    return services.open_case(clerk, "temp_job", "532301", intake(), CLOCK)


def try_task(clerk: Actor, case: Case, name: str, data: dict, when=at("2021-02-03 10:00")) -> dict[str, str]:
    """The fields the completion refuses (and that the case did not move)."""
    version, task = case.version, open_task(case, name)
    with pytest.raises(DataInvalid) as err:
        services.complete_task(clerk, task.id, data, version, when)
    db.session.expire_all()
    assert case.version == version and open_task(case, name).state == "open"
    return err.value.fields


def test_131_dates_in_the_future_or_before_registration_are_refused(clerk):
    case = temp_case(clerk)
    for day in ("2099-01-01", "2021-02-04", "1990-01-01", "2021-01-31"):
        assert "guidance_date" in try_task(clerk, case, "career_guidance", {**GUIDANCE, "guidance_date": day})
    assert "training_date" in try_task(clerk, case, "training", {**TRAINING, "training_date": "2099-01-01"})
    # The day of registration and the day of the step are both fine.
    case = complete(clerk, case, "career_guidance", {**GUIDANCE, "guidance_date": "2021-02-01"}, at("2021-02-03 10:00"))
    complete(clerk, case, "training", {**TRAINING, "training_date": "2021-02-03"}, at("2021-02-03 23:59"))


def test_job_offers_must_be_dated_sensibly_and_be_three_different_posts(clerk):
    case = temp_case(clerk)
    old = {"offers": [{**o, "date": "1990-01-01"} for o in OFFERS["offers"]]}
    assert {"offers.0.date", "offers.1.date", "offers.2.date"} <= set(try_task(clerk, case, "job_offers", old))
    same = {"offers": [OFFERS["offers"][0]] * 3}
    assert "offers" in try_task(clerk, case, "job_offers", same)
    # Two offers of three: the form's rows are filled in, not chosen from a list.
    assert try_task(clerk, case, "job_offers", {"offers": OFFERS["offers"][:2]})["offers"] == "至少填写 3 项"
    near_same = {"offers": [OFFERS["offers"][0], {**OFFERS["offers"][0], "employer": " 楚雄鹿城物业公司 ",
                                                  "date": "2021-02-02"}, OFFERS["offers"][2]]}
    assert set(try_task(clerk, case, "job_offers", near_same, at("2021-02-05 10:00"))) == {"offers.1.job"}
    future = {"offers": [*OFFERS["offers"][:2], {**OFFERS["offers"][2], "date": "2021-02-06"}]}
    assert set(try_task(clerk, case, "job_offers", future, at("2021-02-05 10:00"))) == {"offers.2.date"}
    complete(clerk, case, "job_offers", OFFERS, at("2021-02-05 10:00"))


def test_reporting_for_a_post_in_the_future_is_refused(clerk):
    case = referred_case(clerk, new_post(clerk))
    fields = try_task(clerk, case, "confirm_placement", {"placed": True, "reported_on": "2021-02-20"},
                      at("2021-02-15 09:00"))
    assert "reported_on" in fields
    assert complete(clerk, case, "confirm_placement", {"placed": True, "reported_on": "2021-02-15"},
                    at("2021-02-15 09:00")).status == "placed"


def test_131_form_dates_over_the_api(client, h):
    response = client.post(f"{API}/cases", headers=h["clerk_cx"],
                           json={"process": "temp_job", "region": "532301", "data": intake()})
    case = response.get_json()
    task = next(t for t in case["tasks"] if t["name"] == "career_guidance")
    response = client.post(f"{API}/tasks/{task['id']}/complete", headers=h["clerk_cx"],
                           json={"data": {**GUIDANCE, "guidance_date": "2099-01-01"}, "case_version": case["version"]})
    assert "2021-02-01" in refused(response, "guidance_date")
    after = client.get(f"{API}/cases/{case['number']}", headers=h["clerk_cx"]).get_json()
    assert after["version"] == case["version"] and task["id"] in [t["id"] for t in after["tasks"]]


# ---------------------------------------------------------------------------------------------------------------
# 6. The case list's filters.

def test_unknown_case_status_is_a_400_naming_it(client, h):
    open_wage_case(client, h["insp_cx"], wage_arrears_intake())
    refused(client.get(f"{API}/cases?status=nope", headers=h["insp_cx"]), "status")
    response = client.get(f"{API}/cases?status=received", headers=h["insp_cx"])
    assert response.status_code == 200 and response.get_json()["total"] == 1
    assert client.get(f"{API}/cases?status=cleared", headers=h["insp_cx"]).get_json()["total"] == 0
    spec = client.get(f"{API}/openapi.json").get_json()
    [param] = [p for p in spec["paths"]["/cases"]["get"]["parameters"] if p["name"] == "status"]
    assert {"received", "cleared", "paying", "placed"} <= set(param["schema"]["enum"])


def test_like_wildcards_in_the_search_are_plain_characters(client, h):
    plain = wage_arrears_intake()
    underscored = wage_arrears_intake()
    underscored["employer"]["name"] = "楚雄市某_劳务公司"
    for data in (plain, underscored):
        assert open_wage_case(client, h["insp_cx"], data).status_code == 201

    def total(q: str) -> int:
        return client.get(f"{API}/cases", query_string={"q": q}, headers=h["insp_cx"]).get_json()["total"]

    assert (total("%"), total("_"), total("\\"), total("某_劳")) == (0, 1, 0, 1)
    assert total("WA-532301") == 2


# ---------------------------------------------------------------------------------------------------------------
# A NUL character anywhere in a request: PostgreSQL text cannot hold one (a DataError, a 500 before).

@pytest.mark.parametrize("method, path, body", [
    ("get", "/verify/%00", None),                          # public, no sign-in
    ("get", "/cases/%00", None),
    ("get", "/cases/%00/documents", None),
    ("post", "/tasks/%00/claim", None),
    ("post", "/tasks/%00/complete", {"data": {}, "case_version": 1}),
])
def test_a_nul_in_the_path_is_not_found_before_the_database_sees_it(client, h, method, path, body):
    from sqlalchemy import event

    statements: list[str] = []

    def count_statement(*args) -> None:
        statements.append(args[2])

    # SQLite would find nothing either; PostgreSQL would fail on the NUL (a 500): no statement may be sent at all.
    event.listen(db.engine, "before_cursor_execute", count_statement)
    try:
        response = getattr(client, method)(API + path, json=body, headers=h["insp_cx"])
    finally:
        event.remove(db.engine, "before_cursor_execute", count_statement)
    assert response.status_code == 404 and response.is_json and response.get_json()["error"]["code"] == "not_found"
    assert statements == []


def test_a_nul_in_a_parameter_or_a_json_string_is_a_400_naming_it(client, h):
    for path in ("/cases?q=a%00", "/ledger?q=%00", "/tasks?role=%00"):
        response = client.get(API + path, headers=h["clerk_cx"])
        assert response.status_code == 400, path
        assert "NUL" in next(iter(response.get_json()["error"]["fields"].values())), path
    token = client.post(f"{API}/auth/token", json={"username": "in\u0000sp", "password": "x"})
    assert token.status_code == 400 and token.get_json()["error"]["fields"] == {"username": "不能含有 NUL（\\x00）字符"}
    before = count(Case)
    opened = client.post(f"{API}/cases", headers=h["insp_cx"], json={
        "process": "wage_arrears", "region": "532301", "data": {**wage_arrears_intake(), "source\u0000": "x"}})
    assert opened.status_code == 400 and count(Case) == before
    assert "source" in opened.get_json()["error"]["fields"]


def test_a_nul_in_a_page_form_is_a_400_page_naming_the_field(client, h):
    from tests.integration.test_pages import token

    login = client.post("/login", data={"username": "a\u0000b", "password": "x", "csrf_token": token(client)})
    page = login.get_data(as_text=True)
    assert login.status_code == 400 and "username" in page and "NUL" in page and "Traceback" not in page
