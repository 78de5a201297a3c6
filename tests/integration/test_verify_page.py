"""The notices the wage-arrears process really issues render (the engine's facts match pdfs' contract), and the
public page their QR codes point at: `GET /verify/<code>`, no login, no personal data, 404 in Chinese."""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from sqlalchemy import select

from engine import documents, escalation, services
from engine.actors import Actor
from engine.db import db
from engine.documents import Document
from tests.conftest import at, make_user
from tests.factories import complete, ordered_case, wage_arrears_intake

pytestmark = pytest.mark.usefixtures("ctx")


def _text(path) -> str:
    with open(path, "rb") as handle:
        reader = pypdf.PdfReader(io.BytesIO(handle.read()))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def _all_rendered(now) -> list[Document]:
    documents.render_pending(now, limit=1000)
    rows = list(db.session.scalars(select(Document).order_by(Document.id)))
    for row in rows:
        db.session.refresh(row)
        assert row.status == "rendered" and row.last_error is None, (row.kind, row.last_error)
        text = _text(documents.path_of(row))
        assert row.title in text and row.number in text and row.verification_code in text, row.kind
    return rows


def _transferred_case(inspector):
    supervisor = Actor.of(make_user("sup_cx", ["supervisor"], "532301"))
    head = Actor.of(make_user("head_cx", ["head"], "532301"))  # the city bureau's own head decides its referrals
    case = ordered_case(inspector, at("2021-02-08 10:00"), verified_amount="100000.00",
                        investigated_at=at("2021-02-05 15:00"))
    escalation.sweep(at("2021-02-19 00:00"), render_notices=False)  # the payment deadline passes
    db.session.refresh(case)
    case = complete(inspector, case, "check_payment", {"amount_paid": "40000.00", "note": "已支付部分"},
                     at("2021-02-19 10:00"))
    # The fine first: its prior notice, the employer's five working days to answer (a hearing for 20000.00), the
    # decision; then, still unpaid, the referral.
    case = complete(inspector, case, "choose_enforcement",
                     {"measures": ["penalty"], "penalty_amount": "20000.00", "reason": "拒不提供工资台账，阻挠调查"},
                     at("2021-02-22 09:00"))
    case = complete(supervisor, case, "approve_enforcement", {"approved": True, "comment": "同意"},
                    at("2021-02-22 15:00"))
    escalation.sweep(at("2021-03-02 00:00"), render_notices=False)
    db.session.refresh(case)
    case = complete(inspector, case, "decide_penalty",
                    {"defence_stated": False, "hearing_requested": False, "penalty_outcome": "impose"},
                    at("2021-03-02 09:00"))
    case = complete(inspector, case, "check_payment", {"amount_paid": "40000.00"}, at("2021-03-02 10:00"))
    case = complete(inspector, case, "choose_enforcement",
                     {"measures": ["criminal_referral"], "reason": "拒不支付，数额较大"}, at("2021-03-02 11:00"))
    case = complete(supervisor, case, "approve_enforcement", {"approved": True, "comment": "同意"},
                    at("2021-03-02 15:00"))
    case = complete(head, case, "approve_referral", {"approved": True, "comment": "批准移送"}, at("2021-03-02 17:00"))
    return complete(inspector, case, "transfer_case",
                    {"transferred_on": "2021-03-03", "receiving_unit": "楚雄市公安局"}, at("2021-03-03 09:00"))


def test_every_wage_arrears_notice_the_engine_issues_renders(inspector):
    case = _transferred_case(inspector)
    assert case.status == "transferred"
    rejected = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(),
                                  at("2021-02-02 09:00"))
    complete(inspector, rejected, "review_complaint", {"decision": "reject", "reason": "不属于劳动保障监察管辖范围"},
              at("2021-02-02 10:00"))

    rows = _all_rendered(at("2021-03-03 09:00"))
    kinds = [row.kind for row in rows]
    assert {"acceptance_notice", "rectification_order", "penalty_prior_notice", "penalty_decision", "criminal_referral",
            "case_closure_notice", "non_acceptance_notice"} <= set(kinds)
    by_kind = {row.kind: row for row in rows}
    order = _text(documents.path_of(by_kind["rectification_order"]))
    assert "100,000.00元" in order and "人民币壹拾万元整" in order and "2021年2月18日" in order
    assert "在鹿城镇安置房二期项目中拖欠" in order
    # After a part payment the penalty decision states what is still owed, as the referral letter does.
    penalty = _text(documents.path_of(by_kind["penalty_decision"]))
    assert "逾期仅支付40,000.00元，尚欠60,000.00元未支付" in penalty
    acceptance = _text(documents.path_of(by_kind["acceptance_notice"]))
    assert "六十个工作日内（即" in acceptance
    assert by_kind["rectification_order"].number == "楚市人社监令〔2021〕1号"
    closure = _text(documents.path_of(by_kind["case_closure_notice"]))
    assert "案件已于2021年3月3日移送楚雄市公安局依法处理" in closure


def test_a_project_name_that_says_project_is_not_doubled():
    from engine.wage_arrears import _project

    assert _project({"project": {"name": "楚雄市体育馆项目"}}) == "楚雄市体育馆项目"
    assert _project({"project": {"name": "鹿城大道改扩建工程"}}) == "鹿城大道改扩建工程"
    assert _project({"project": {"name": "鹿城镇安置房二期"}}) == "鹿城镇安置房二期项目"


def test_verify_page_shows_the_document_without_personal_data(client, inspector):
    case = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), at("2021-02-01 09:00"))
    complete(inspector, case, "review_complaint", {"decision": "accept", "reason": "符合受理条件"},
              at("2021-02-01 10:00"))
    [notice] = _all_rendered(at("2021-02-01 10:00"))
    # The QR code's URL is this page.
    assert notice.facts["verify_url"].endswith(f"/verify/{notice.verification_code}")
    path = notice.facts["verify_url"].split("://", 1)[1].split("/", 1)[1]

    response = client.get("/" + path)  # anonymous: no login
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "有效" in page
    assert notice.title in page and notice.number in page
    assert "楚雄市人力资源和社会保障局" in page and "2021年2月1日" in page
    assert notice.sha256 in page
    # Nothing personal: not the complainant, the employer, the case number or the facts.
    intake = wage_arrears_intake()
    for secret in (intake["complainant"]["name"], intake["complainant"]["id_number"], intake["employer"]["name"],
                   case.number, intake["complainant"]["phone"]):
        assert secret not in page
    assert response.headers["Cache-Control"] == "no-store"

    # Codes typed by hand: lower case, spaces, no dashes.
    typed = notice.verification_code.replace("-", " ").lower()
    assert client.get(f"/verify/{typed}").status_code == 200
    assert client.get(f"/api/v1/verify/{typed}").get_json()["number"] == notice.number  # the API reads it alike
    redirect = client.get("/verify", query_string={"code": typed})
    assert redirect.status_code == 302 and redirect.headers["Location"].endswith(f"/verify/{notice.verification_code}")


def test_unknown_code_is_a_404_page_in_chinese(client):
    response = client.get("/verify/ABCD-EFGH-JKLM")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "未找到该文书" in page and "ABCD-EFGH-JKLM" in page
    assert client.get("/verify/" + "X" * 200).status_code == 404
    assert client.get("/verify/<script>").status_code == 404
    assert "<script>" not in client.get("/verify/<script>").get_data(as_text=True)
    form = client.get("/verify")
    assert form.status_code == 200 and "文书真伪核验" in form.get_data(as_text=True)
    assert client.get("/verify", query_string={"code": "Y" * 40}).status_code == 404


def test_json_verify_agrees_with_the_page(client, inspector):
    case = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), at("2021-02-01 09:00"))
    complete(inspector, case, "review_complaint", {"decision": "accept", "reason": "符合受理条件"},
              at("2021-02-01 10:00"))
    notice = db.session.scalars(select(Document)).one()
    body = client.get(f"/api/v1/verify/{notice.verification_code}").get_json()
    assert body["number"] == notice.number and body["valid"] is True
    page = client.get(f"/verify/{notice.verification_code}").get_data(as_text=True)
    assert body["number"] in page and body["title"] in page
    assert "正在生成" in page  # queued in the outbox, not rendered yet


def test_supervision_notices_of_the_escalation_ladder_render(inspector, supervisor):
    make_user("head_cz", ["head"], "532300")
    ordered_case(inspector, at("2021-03-01 10:00"))
    escalation.sweep(at("2021-03-05 08:00"), render_notices=False)  # the order's deadline: a payment check
    for moment in ("2021-03-09 00:00", "2021-03-11 00:00", "2021-03-13 00:00"):  # the check is overdue: up the
        escalation.sweep(at(moment), render_notices=False)                       # ladder, a level at a time
    rows = _all_rendered(at("2021-03-13 00:00"))
    supervision = [row for row in rows if row.kind == "supervision_notice"]
    assert supervision, [row.kind for row in rows]
    text = _text(documents.path_of(supervision[0]))
    assert "二级督办" in text and "督办通知书" in text
