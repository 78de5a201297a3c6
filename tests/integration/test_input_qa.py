"""Input QA, second round: full-width and future-dated ID numbers, invisible characters in names, 5.0 as an
integer, English HTTP errors on the API, "5000" as money, blank 131 records, bank accounts typed as printed,
a missing task answered as a bad body, passwords holding the name and a lock-out that says nothing of how long.
Every refusal is a 400 naming the field, and changes nothing."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from engine import accounts, sign_in_lock
from engine.actors import Actor
from engine.db import db
from engine.models import AuditEvent, Case, User
from engine.text_patterns import NOTE_PATTERN, TEXT_PATTERN
from engine.validation import DataInvalid, ecma_regex, validate
from tests.conftest import at, fixed_clock, make_user
from tests.factories import _valid_ric, wage_arrears_intake
from tests.integration.test_benefit_claim import claim_data
from tests.integration.test_input_hardening import refused
from tests.integration.test_legal_limits import CHECKED, _at_enforcement
from tests.integration.test_pages import FreshContextClient, field_error, sign_in, text_of
from tests.integration.test_pages import post as form_post
from tests.integration.test_temp_job_process import GUIDANCE, TRAINING, intake

API = "/api/v1"
PASSWORD = "correct-horse-9"
CLOCK = at("2021-02-01 09:00")  # a Monday
GUIDED = {**GUIDANCE, "guidance_date": "2021-02-01"}  # not after the API's today
TRAINED = {**TRAINING, "training_date": "2021-02-01"}
TEXT_MESSAGE = "须含有文字，且不能含换行、控制字符或不可见的格式字符（如零宽空格、文字方向控制符）"
NOTE_MESSAGE = "须含有文字，且不能含控制字符或不可见的格式字符（如零宽空格、文字方向控制符）"

_fixed_clock = fixed_clock(CLOCK)


@pytest.fixture
def h(ctx, client) -> dict[str, dict[str, str]]:
    """Bearer headers of an inspector, a clerk and a supervisor of Chuxiong city."""
    found = {}
    for name, roles in (("insp_cx", ["inspector"]), ("clerk_cx", ["clerk"]), ("sup_cx", ["supervisor"])):
        make_user(name, roles, "532301")
        response = client.post(f"{API}/auth/token", json={"username": name, "password": PASSWORD})
        found[name] = {"Authorization": f"Bearer {response.get_json()['token']}"}
    db.session.remove()
    return found


def cases() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Case))


def open_case(client, headers, process: str, data: dict):
    return client.post(f"{API}/cases", json={"process": process, "region": "532301", "data": data}, headers=headers)


def task_of(body: dict, name: str) -> dict:
    return next(t for t in body["tasks"] if t["name"] == name)


def complete_api(client, headers, body: dict, name: str, data: dict):
    task = task_of(body, name)
    return client.post(f"{API}/tasks/{task['id']}/complete", json={"data": data, "case_version": body["version"]},
                       headers=headers)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


# ---------------------------------------------------------------------------------------------------------------
# 1. ID card numbers.

def test_a_full_width_id_number_is_refused_on_the_api_and_the_page(client, h):
    data = wage_arrears_intake()
    data["complainant"]["id_number"] = full_width(data["complainant"]["id_number"])
    message = refused(open_case(client, h["insp_cx"], "wage_arrears", data), "complainant.id_number")
    assert "半角" in message and "全角" in message
    # The page says the same (its input pattern already keeps a browser from sending one).
    web = FreshContextClient(client.application, client.application.response_class, use_cookies=True)
    assert sign_in(web, "insp_cx").status_code == 302
    from web.forms import form_values

    values = form_values(data)
    values["region"] = "532301"
    page = form_post(web, "/cases/new/wage_arrears", values.to_dict(), page="/cases/new/wage_arrears")
    assert page.status_code == 400 and field_error(page, "complainant.id_number") == message
    assert cases() == 0


def test_a_lowercase_check_letter_is_stored_upper_case(client, h):
    number = _valid_ric("53230119880512001")
    if not number.endswith("X"):  # find a body whose check character is X
        number = next(n for n in (_valid_ric(f"5323011988051200{i}") for i in range(10)) if n.endswith("X"))
    data = wage_arrears_intake()
    data["complainant"]["id_number"] = number.lower()
    response = open_case(client, h["insp_cx"], "wage_arrears", data)
    assert response.status_code == 201, response.get_json()
    db.session.expire_all()
    case = db.session.scalar(select(Case))
    assert case.subject_id_number == number
    opened = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "case_opened"))
    assert opened.detail["data"]["complainant"]["id_number"] == number


def test_an_id_number_born_after_today_is_refused(client, h):
    data = wage_arrears_intake()
    data["complainant"]["id_number"] = _valid_ric("53230120300101001")  # born 1 January 2030, checksum right
    assert refused(open_case(client, h["insp_cx"], "wage_arrears", data),
                   "complainant.id_number") == "身份证号码中的出生日期晚于今天"
    assert cases() == 0


def test_a_county_code_newer_than_the_birth_date_is_taken(client, h):
    """QA: 532301 (楚雄市) dates from 1983, and python-stdnum refused a card with that code and an earlier birth
    date, saying the check digit was wrong; people born before then hold such cards. A code that never existed is
    still refused, and so is a wrong check digit."""
    data = wage_arrears_intake()
    data["complainant"]["id_number"] = "532301198001010054"  # born 1980, check digit right
    assert open_case(client, h["insp_cx"], "wage_arrears", data).status_code == 201
    for bad in ("539999198001010054", "532301198001010055"):
        data = wage_arrears_intake()
        data["complainant"]["id_number"] = bad
        assert refused(open_case(client, h["insp_cx"], "wage_arrears", data), "complainant.id_number")
    assert cases() == 1


# ---------------------------------------------------------------------------------------------------------------
# 2. Invisible characters.

@pytest.mark.parametrize("name", ["李\u202e国", "李建\u200b国", "\ufeff李建国", "李\u200e建国", "李\u200f建国",
                                  "李\u202a建国", "李\u2066建国\u2069", "\u200b"])
def test_names_with_invisible_or_bidi_characters_are_refused(client, h, name):
    data = wage_arrears_intake()
    data["complainant"]["name"] = name
    assert refused(open_case(client, h["insp_cx"], "wage_arrears", data), "complainant.name") == TEXT_MESSAGE
    assert cases() == 0


def test_optional_fields_and_a_named_colleague_refuse_invisible_characters(client, h):
    """QA: optional notes, a redirect's competent body and the co-inspector's name took U+200B / U+202E (the
    notice then printed the body reversed); the colleague's name with spaces around got a misleading refusal."""
    body = open_case(client, h["insp_cx"], "wage_arrears", wage_arrears_intake()).get_json()
    bad = complete_api(client, h["insp_cx"], body, "review_complaint",
                       {"decision": "redirect", "reason": "属劳动争议", "redirect_to": "\u202e院裁仲"})
    assert refused(bad, "redirect_to") == TEXT_MESSAGE
    data = wage_arrears_intake()
    data["description"] = "欠薪\u200b"
    assert "不可见的格式字符" in refused(open_case(client, h["insp_cx"], "wage_arrears", data), "description")
    accepted = complete_api(client, h["insp_cx"], body, "review_complaint", {"decision": "accept"}).get_json()
    findings = {"verified_amount": "1000.00", "workers_owed": 1, "outcome": "order", "findings": "核实属实",
                "co_inspector": " insp_cx2 "}
    assert refused(complete_api(client, h["insp_cx"], accepted, "investigate", findings),
                   "co_inspector") == "用户名须为2-64位字母、数字或 _ . -"
    assert cases() == 1


def test_the_text_patterns_keep_ordinary_text_and_stay_linear():
    text, note = ecma_regex(TEXT_PATTERN), ecma_regex(NOTE_PATTERN)
    for ok in (" 普 文华 ", "O'Brien-李", "阿卜杜·热合曼", "A\u00a0B"):
        assert text.search(ok) and note.search(ok), ok
    assert note.search("第一行\n第二行\t完") and not text.search("第一行\n第二行")
    for bad in ("\u202e", " \u200b ", "甲\u2028乙", "乙\x07"):
        assert not text.search(bad) and not note.search(bad), repr(bad)
    # A long value of blanks that fails at its very end is one pass, not a search from every position.
    assert not text.search(" " * 200_000 + "\u200b")


# ---------------------------------------------------------------------------------------------------------------
# 3. Integers.

def test_a_float_is_no_integer(client, h):
    data = wage_arrears_intake()
    data["workers_count"] = 5.0
    assert refused(open_case(client, h["insp_cx"], "wage_arrears", data), "workers_count") == "类型应为整数"
    assert cases() == 0
    with pytest.raises(DataInvalid) as err:
        validate({"type": "object", "properties": {"n": {"type": "integer"}}}, {"n": True})
    assert err.value.fields == {"n": "类型应为整数"}


# ---------------------------------------------------------------------------------------------------------------
# 4. HTTP errors on the API, and a ledger file too large.

def test_api_http_errors_are_in_chinese(client, h, app):
    missing = client.get(f"{API}/no-such-thing", headers=h["insp_cx"])
    assert missing.status_code == 404
    assert missing.get_json()["error"] == {"code": "not_found", "message": f"接口不存在：{API}/no-such-thing"}
    wrong = client.delete(f"{API}/cases", headers=h["insp_cx"])
    assert wrong.status_code == 405
    assert wrong.get_json()["error"]["message"] == "此接口不支持 DELETE 方法（可用：GET、POST）"
    limit = app.config["MAX_CONTENT_LENGTH"]
    big = client.post(f"{API}/cases", data=b"{" + b" " * limit + b"}", content_type="application/json",
                      headers=h["insp_cx"])
    assert big.status_code == 413
    assert big.get_json()["error"] == {"code": "payload_too_large",
                                       "message": f"请求体过大：最多 2 MB（{limit} 字节）"}


# ---------------------------------------------------------------------------------------------------------------
# 5. Money in task forms and intake.

def test_money_is_stored_and_returned_with_two_decimals(client, h, app, monkeypatch):
    opened = open_case(client, h["insp_cx"], "wage_arrears", wage_arrears_intake(amount_owed="12500"))
    assert opened.status_code == 201, opened.get_json()
    assert opened.get_json()["data"]["amount_owed"] == "12500.00"
    case = _at_enforcement(Actor.of(db.session.scalar(select(User).where(User.username == "insp_cx"))))
    monkeypatch.setitem(app.config, "CLOCK", lambda: CHECKED)
    fresh = client.post(f"{API}/auth/token", json={"username": "insp_cx", "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {fresh}"}
    body = client.get(f"{API}/cases/{case.number}", headers=headers).get_json()
    response = complete_api(client, headers, body, "choose_enforcement",
                            {"measures": ["penalty"], "penalty_amount": "5000", "reason": "阻挠调查"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["penalty_amount"] == "5000.00"
    chosen = [e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "task_completed"))
              if e.detail["task"] == "choose_enforcement"]
    assert chosen[0].detail["data"]["penalty_amount"] == "5000.00"


# ---------------------------------------------------------------------------------------------------------------
# 6. Blank free text.

@pytest.mark.parametrize(("task", "form", "field", "message"), [
    ("career_guidance", {**GUIDED, "guidance_content": "  "}, "guidance_content", NOTE_MESSAGE),
    ("career_guidance", {**GUIDED, "guidance_content": "\t\n"}, "guidance_content", NOTE_MESSAGE),
    ("training", {**TRAINED, "training_programme": "\t"}, "training_programme", TEXT_MESSAGE),
])
def test_blank_131_records_are_refused(client, h, task, form, field, message):
    body = open_case(client, h["clerk_cx"], "temp_job", intake()).get_json()
    before = body["version"]
    assert refused(complete_api(client, h["clerk_cx"], body, task, form), field) == message
    assert client.get(f"{API}/cases/{body['number']}", headers=h["clerk_cx"]).get_json()["version"] == before


def test_a_guidance_of_several_lines_is_taken(client, h):
    body = open_case(client, h["clerk_cx"], "temp_job", intake()).get_json()
    response = complete_api(client, h["clerk_cx"], body, "career_guidance",
                            {**GUIDED, "guidance_content": "一、求职技巧\n二、简历修改"})
    assert response.status_code == 200, response.get_json()


def test_a_blank_reason_gets_the_clear_message(client, h, rates):
    body = open_case(client, h["insp_cx"], "wage_arrears", wage_arrears_intake()).get_json()
    assert refused(complete_api(client, h["insp_cx"], body, "review_complaint",
                                {"decision": "reject", "reason": " "}), "reason") == NOTE_MESSAGE
    to_review = claim_data(contribution_months=30, separation_reason="voluntary")
    claim = open_case(client, h["clerk_cx"], "benefit_claim", to_review).get_json()
    assert refused(complete_api(client, h["clerk_cx"], claim, "review_claim",
                                {"decision": "reject", "reason": "\t"}), "reason") == NOTE_MESSAGE


# ---------------------------------------------------------------------------------------------------------------
# 7. Bank accounts as printed on the card.

def test_a_bank_account_typed_with_spaces_is_taken_without_them(client, h, rates):
    response = open_case(client, h["clerk_cx"], "benefit_claim",
                         claim_data(bank_account="6222 0202 0011 2233 445"))
    assert response.status_code == 201, response.get_json()
    opened = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "case_opened"))
    assert opened.detail["data"]["bank_account"] == "6222020200112233445"


def test_a_bad_bank_account_says_what_is_expected(client, h, rates):
    message = refused(open_case(client, h["clerk_cx"], "benefit_claim", claim_data(bank_account="6222-0202")),
                      "bank_account")
    assert "12-30位数字" in message
    assert cases() == 0


# ---------------------------------------------------------------------------------------------------------------
# 8. A task that does not exist.

@pytest.mark.parametrize("body", [{}, {"data": {}}, {"case_version": "x"}])
def test_completing_a_missing_task_is_a_404_whatever_the_body(client, h, body):
    response = client.post(f"{API}/tasks/00000000-0000-0000-0000-000000000000/complete", json=body,
                           headers=h["insp_cx"])
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


# ---------------------------------------------------------------------------------------------------------------
# 9. and 10. Passwords and the lock-out.

def test_a_password_holding_the_name_is_refused(app, ctx):
    with pytest.raises(DataInvalid) as err:
        accounts.create_user("clerk_sb", "clerk_sb123", ["clerk"], "532322", CLOCK)
    assert err.value.fields == {"password": "密码不能包含用户名"}
    with pytest.raises(DataInvalid):
        accounts.create_user("clerk_sb", "x-CLERK_SB-9", ["clerk"], "532322", CLOCK)
    make_user("clerk_sb", ["clerk"], "532322")
    with pytest.raises(DataInvalid):
        accounts.reset_password("clerk_sb", "Clerk_Sb2021", CLOCK)
    # The page that changes one's own password says so beside the field.
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert sign_in(client, "clerk_sb").status_code == 302
    response = form_post(client, "/password", {"current_password": PASSWORD, "new_password": "my-clerk_sb-9",
                                               "confirm": "my-clerk_sb-9"}, page="/password")
    assert response.status_code == 400
    assert "密码不能包含用户名" in text_of(response)
    db.session.expire_all()
    assert accounts.authenticate("clerk_sb", PASSWORD, CLOCK, address="127.0.0.1") is not None  # unchanged
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_the_lock_out_says_for_how_long_and_the_way_out(app, ctx):
    from web.messages import message

    text = sign_in_lock.LOCKED_MESSAGE.format(minutes=30)
    assert "30 分钟" in text and "flask users reset-password" in text
    with app.test_request_context(), force_locale("en"):
        english = message(text)
    assert english != text and "30 minutes" in english and "flask users reset-password" in english


def test_the_lock_out_on_the_api_names_the_configured_minutes(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LOCK_MINUTES", 30)
    make_user("insp_cx", ["inspector"], "532301")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post(f"{API}/auth/token", json={"username": "insp_cx", "password": "wrong-password-1"})
    locked = client.post(f"{API}/auth/token", json={"username": "insp_cx", "password": PASSWORD})
    assert locked.status_code == 429
    assert "30 分钟" in locked.get_json()["error"]["message"]
