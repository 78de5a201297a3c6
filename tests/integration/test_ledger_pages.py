"""The 131 report and the return-visit ledger on pages (web/ledger_pages.py): the report's figures per region and
its Excel; the ledger's lists with masked ID numbers, the all-or-nothing upload with its errors on the page, the
three lists as Excel and the bulk temp_job cases; CSRF, roles and regions; odd query strings; English."""

from __future__ import annotations

import inspect
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from engine import ledger, ledger_sheet, services
from engine.actors import Actor
from engine.db import db
from engine.models import Case
from engine.placements import LedgerWorker
from tests.conftest import at, make_user
from tests.factories import complete
from tests.integration.test_ledger import xlsx_bytes
from tests.integration.test_pages import FreshContextClient, field_error, post, sign_in, text_of, token
from tests.integration.test_temp_job_process import GUIDANCE, OFFERS, TRAINING, intake
from web import ledger_pages
from web.cli_ledger import _ric, demo_ledger_xlsx

NOW = at("2021-02-08 10:00")
OPENED = at("2021-02-01 09:00")
HEADER = [c.title for c in ledger_sheet.COLUMNS]


@pytest.fixture(autouse=True)
def clock(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "CLOCK", lambda: NOW)


@pytest.fixture
def users(ctx):
    return {
        "clerk_cx": Actor.of(make_user("clerk_cx", ["clerk"], "532301")),
        "clerk_sb": Actor.of(make_user("clerk_sb", ["clerk"], "532322")),
        "sup_cz": Actor.of(make_user("sup_cz", ["supervisor"], "532300")),
        "insp_cx": Actor.of(make_user("insp_cx", ["inspector"], "532301")),
    }


def browser(app, username: str) -> FreshContextClient:
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert sign_in(client, username).status_code == 302
    return client


def upload(client, content: bytes | None, name: str = "台账.xlsx", region: str = "532301", **kwargs):
    data = {"region": region}
    if content is not None:
        data["file"] = (io.BytesIO(content), name)
    return post(client, "/ledger/import", data, page="/ledger", **kwargs)


def workers() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(LedgerWorker))


def xlsx(rows, header=HEADER) -> bytes:
    return xlsx_bytes(rows, header)


def sheet_rows(content: bytes, index: int = 0) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    try:
        return list(workbook.worksheets[index].iter_rows(values_only=True))
    finally:
        workbook.close()


def section(page: str, element_id: str) -> str:
    """The visible text of the element with `element_id` (up to its closing tag of the same name)."""
    found = re.search(r'<(\w+)[^>]*id="' + re.escape(element_id) + r'"[^>]*>(.*?)</\1>', page, re.S)
    assert found, f"no #{element_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(2))).strip()


# ---------------------------------------------------------------------------------------------------------------
# The 131 report.

@pytest.fixture
def served(users):
    """Open temp_job cases: three in Chuxiong city (one owes all, one owes offers and training, one is served), one
    in Shuangbai (owes guidance and training) and a closed one (not counted)."""
    cx, sb = users["clerk_cx"], users["clerk_sb"]

    def case(actor: Actor, region: str, n: int, *parts: tuple[str, dict]):
        c = services.open_case(actor, "temp_job", region, intake(id_prefix=f"{region}199001{n:02d}001"), OPENED)
        for name, data in parts:
            c = complete(actor, c, name, data, at("2021-02-05 10:00"))
        return c

    case(cx, "532301", 1)
    case(cx, "532301", 2, ("career_guidance", GUIDANCE))
    case(cx, "532301", 3, ("career_guidance", GUIDANCE), ("job_offers", OFFERS), ("training", TRAINING))
    case(sb, "532322", 4, ("job_offers", OFFERS))
    case(cx, "532301", 5, ("market_outcome", {"market_outcome": "employed", "employer": "某公司"}))
    return users


def test_report_shows_the_figures_per_region_with_a_filter(app, served):
    sup = browser(app, "sup_cz")
    response = sup.get("/reports/131")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert section(page, "region-532301") == "楚雄市 532301 3 1 2 2 2 1"
    assert section(page, "region-532322") == "双柏县 532322 1 1 0 1 1 0"
    assert section(page, "total") == "合计 4 2 2 3 3 1"
    assert "在办人数" in text_of(response) and "尚欠“131”服务人数" in text_of(response)
    assert 'href="/reports/131.xlsx"' in page
    narrowed = sup.get("/reports/131?region=532322").get_data(as_text=True)
    assert 'id="region-532301"' not in narrowed and section(narrowed, "total") == "合计 1 1 0 1 1 0"
    assert 'href="/reports/131.xlsx?region=532322"' in narrowed
    assert '<option value="532322" selected>' in narrowed
    # A county sees its own figures only; another county's is not found; a code that is not one is refused.
    sb = browser(app, "clerk_sb")
    own = sb.get("/reports/131").get_data(as_text=True)
    assert 'id="region-532301"' not in own and section(own, "total") == "合计 1 1 0 1 1 0"
    assert sb.get("/reports/131?region=532301").status_code == 404
    assert sup.get("/reports/131?region=5323").status_code == 400
    # The engine checks no role for the report (GET /api/v1/reports/131 answers any signed-in user): an inspector
    # sees the county's figures too.
    inspector = browser(app, "insp_cx").get("/reports/131")
    assert inspector.status_code == 200
    assert section(inspector.get_data(as_text=True), "total") == "合计 3 1 2 2 2 1"


def test_report_without_cases_says_so(app, users):
    assert "没有在办的临时性岗位求职案件" in text_of(browser(app, "clerk_cx").get("/reports/131"))


def test_report_downloads_as_excel(app, served):
    sup = browser(app, "sup_cz")
    response = sup.get("/reports/131.xlsx?region=532300")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "131-service-report-532300-2021-02-08.xlsx" in disposition
    assert response.headers["Cache-Control"] == "no-store"
    rows = sheet_rows(response.data)
    assert rows[1] == ("532301", "楚雄市", 3, 1, 2, 2, 2, 1)
    assert rows[-1] == ("合计", None, 4, 2, 2, 3, 3, 1)
    assert browser(app, "clerk_sb").get("/reports/131.xlsx?region=532301").status_code == 404
    assert FreshContextClient(app, app.response_class).get("/reports/131.xlsx").status_code == 302  # sign in first


# ---------------------------------------------------------------------------------------------------------------
# The ledger: upload and list.

def test_upload_imports_and_lists_with_masked_id_numbers(app, users):
    web = browser(app, "clerk_cx")
    assert "台账中没有符合条件的人员" in text_of(web.get("/ledger"))
    done = upload(web, demo_ledger_xlsx(12, "532301"), follow_redirects=True)
    assert done.status_code == 200
    body = text_of(done)
    assert "已导入回访台账（楚雄市）：共 12 行，新增 12 人，更新 0 人。" in body
    assert workers() == 12
    page = done.get_data(as_text=True)
    full = _ric(100, "532301")
    assert full not in page and "*" * 14 + full[-4:] in page  # masked as every list masks them
    assert "普文学" in body and "共 12 条" in body
    # Again: the same people are updated, not doubled.
    again = text_of(upload(web, demo_ledger_xlsx(12, "532301"), follow_redirects=True))
    assert "新增 0 人，更新 12 人" in again and workers() == 12
    # The lists and the name search; paging (25 a page).
    unemployed = text_of(web.get("/ledger?list=unemployed"))
    assert "共 3 条" in unemployed and "企业停工待岗" in unemployed
    assert "共 2 条" in text_of(web.get("/ledger?q=普文学"))  # 普文学 and 普文学6
    assert "台账中没有符合条件的人员" in text_of(web.get("/ledger?q=%25"))  # LIKE wildcards are searched as text


def test_the_ledger_exports_its_three_lists(app, users):
    web = browser(app, "clerk_cx")
    upload(web, demo_ledger_xlsx(12, "532301"))
    response = web.get("/ledger.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "return-visit-ledger-all-2021-02-08.xlsx" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    try:
        assert workbook.sheetnames == [title for title, _ in ledger.LISTS.values()]
    finally:
        workbook.close()
    rows = sheet_rows(response.data, 2)  # the unemployed
    assert len(rows) == 4 and rows[1][3] == "*" * 14 + _ric(103, "532301")[-4:]
    assert 'href="/ledger.xlsx?region=532301"' in web.get("/ledger?region=532301").get_data(as_text=True)


def bad_row(i: int, **overrides) -> list:
    values = {"name": f"务工人员{i}", "id_number": _ric(200 + i), "phone": f"1390000{i:04d}", "going_home": "否",
              "employed": "是"}
    values.update(overrides)
    return [values.get(c.key) for c in ledger_sheet.COLUMNS]


def test_a_workbook_with_bad_rows_names_them_and_imports_nothing(app, users):
    web = browser(app, "clerk_cx")
    rows = [bad_row(1), bad_row(2, id_number="532301198801010000"), bad_row(3, employed="也许"),
            bad_row(4, id_number=_ric(201))]
    refused = upload(web, xlsx(rows))
    assert refused.status_code == 400 and workers() == 0
    page = refused.get_data(as_text=True)
    assert "台账有 3 处错误，未导入任何数据。" in text_of(refused)
    assert section(page, "import-errors") == (
        "行号 栏目 问题 3 身份证号码 身份证号码无效（18位，校验位不符） 4 是否就业 须为“是”或“否” "
        "5 身份证号码 与第2行的身份证号码重复")
    assert "仅显示前" not in text_of(refused)
    # Many bad rows: the first 50 shown, and the total.
    many = upload(web, xlsx([bad_row(i, phone="123") for i in range(60)]))
    assert many.status_code == 400 and "台账有 60 处错误" in text_of(many)
    assert "仅显示前 50 处错误。" in text_of(many)
    assert len(re.findall(r"<tr><td class=\"num\">", many.get_data(as_text=True))) == 50
    # A sheet without the required columns, and one with nothing in it.
    headless = upload(web, xlsx([["张三", "x"]], header=["姓名", "备注"]))
    assert headless.status_code == 400 and "缺少“身份证号码”列" in text_of(headless)
    blank = upload(web, xlsx([], header=None))
    assert blank.status_code == 400 and "工作表为空" in text_of(blank)
    assert workers() == 0


def test_a_template_with_a_title_row_imports_and_one_too_long_is_refused(app, users, monkeypatch):
    web = browser(app, "clerk_cx")
    titled = xlsx([HEADER, bad_row(1), bad_row(2)], header=["楚雄市外出务工人员回访台账"])
    done = upload(web, titled, follow_redirects=True)
    assert "已导入回访台账（楚雄市）：共 2 行，新增 2 人" in text_of(done) and workers() == 2
    untitled = upload(web, xlsx([["2021年1月"]] * 5 + [HEADER, bad_row(3)], header=["楚雄市外出务工人员回访台账"]))
    assert untitled.status_code == 400
    assert "找不到列名行：前5行中没有一行含有“姓名”“身份证号码”" in text_of(untitled)
    assert "缺少“姓名”列" not in text_of(untitled)
    monkeypatch.setattr(ledger_sheet, "MAX_DATA_ROWS", 2)
    refused = upload(web, xlsx([bad_row(i) for i in range(3, 6)]))
    assert refused.status_code == 400
    assert field_error(refused, "file") == "台账超过 2 行，未导入任何数据：请分成多个文件导入（例如按乡镇）"
    assert workers() == 2


def test_the_pager_of_a_refused_import_leads_to_the_list(app, users):
    web = browser(app, "clerk_cx")
    assert upload(web, demo_ledger_xlsx(30, "532301")).status_code == 302
    refused = upload(web, xlsx([bad_row(1, employed="也许")]))
    assert refused.status_code == 400
    # Shown at /ledger/import, but its next page is the list's (a GET of /ledger/import is 405).
    assert 'href="/ledger?page=2"' in refused.get_data(as_text=True)
    assert web.get("/ledger?page=2").status_code == 200


def test_not_an_xlsx_empty_or_missing_file_is_refused(app, users):
    web = browser(app, "clerk_cx")
    csv = upload(web, "姓名,身份证号码\n".encode(), name="ledger.csv")
    assert csv.status_code == 400 and field_error(csv, "file") == "只能导入 .xlsx 格式的 Excel 文件。"
    fake = upload(web, b"PK\x03\x04 not really a workbook", name="ledger.xlsx")
    assert fake.status_code == 400 and field_error(fake, "file") == "不是有效的 Excel（.xlsx）文件"
    empty = upload(web, b"", name="ledger.xlsx")
    assert empty.status_code == 400 and field_error(empty, "file") == "文件为空。"
    missing = upload(web, None)
    assert missing.status_code == 400 and field_error(missing, "file") == "请选择要导入的台账文件。"
    no_region = upload(web, demo_ledger_xlsx(2), region="")
    assert no_region.status_code == 400 and field_error(no_region, "region") == "必填"
    elsewhere = upload(web, demo_ledger_xlsx(2), region="532322")
    assert elsewhere.status_code == 403 and "不能导入您辖区以外的台账" in text_of(elsewhere)
    assert upload(web, demo_ledger_xlsx(2), region="abc").status_code == 400
    assert workers() == 0


def test_a_file_too_large_is_refused_on_the_file_field(app, users):
    web = browser(app, "clerk_cx")
    # The multipart body built here, as a browser sends it: the test client would spool one this large to a
    # temporary file it never closes.
    boundary = "----ledger-upload"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in (("csrf_token", token(web, "/ledger")), ("region", "532301"))]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode()
                 + b"PK" + b"\0" * app.config["MAX_CONTENT_LENGTH"] + f"\r\n--{boundary}--\r\n".encode())
    response = web.post("/ledger/import", data=b"".join(parts),
                        content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    # The ledger page again, with the limit as the file field's error and the form to try again; no error page.
    assert "提交的内容过大" not in text_of(response) and 'class="topbar"' in page and "Traceback" not in page
    assert field_error(response, "file") == "文件超过 2 MB 的上限，未导入任何数据：请将台账拆分为几个文件分别导入。"
    assert 'id="import"' in page and 'name="file"' in page and "不超过 2 MB" in page
    assert workers() == 0
    assert "不超过 2 MB" in text_of(web.get("/ledger"))  # the limit is said beside the form


def test_forms_without_csrf_token_are_refused(app, users):
    web = browser(app, "clerk_cx")
    refused = web.post("/ledger/import", data={"region": "532301", "file": (io.BytesIO(demo_ledger_xlsx(3)),
                                                                             "a.xlsx")})
    assert refused.status_code == 400 and "表单已失效" in text_of(refused)
    assert workers() == 0
    upload(web, demo_ledger_xlsx(12))
    assert web.post("/ledger/cases", data={"priority_group": "returning_migrant"}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_who_may_not_use_the_ledger_gets_403(app, users):
    inspector = browser(app, "insp_cx")
    for url in ("/ledger", "/ledger.xlsx", "/ledger?list=nope&page=-1"):
        response = inspector.get(url)
        assert response.status_code == 403 and "无权访问" in text_of(response), url
    assert upload(inspector, demo_ledger_xlsx(2)).status_code == 403
    assert post(inspector, "/ledger/cases", {}, page="/tasks").status_code == 403
    assert workers() == 0
    menu = inspector.get("/tasks").get_data(as_text=True)
    assert 'href="/ledger"' not in menu and 'href="/reports/131"' in menu
    clerk_menu = browser(app, "clerk_cx").get("/tasks").get_data(as_text=True)
    assert 'href="/ledger"' in clerk_menu and 'href="/reports/131"' in clerk_menu


def test_another_countys_rows_are_not_shown(app, users):
    upload(browser(app, "clerk_sb"), demo_ledger_xlsx(4, "532322"), region="532322")
    cx = browser(app, "clerk_cx")
    upload(cx, demo_ledger_xlsx(3, "532301"))
    assert workers() == 7
    own = cx.get("/ledger")
    assert "共 3 条" in text_of(own) and "双柏县" not in section(own.get_data(as_text=True), "ledger-list")
    assert cx.get("/ledger?region=532322").status_code == 404
    assert cx.get("/ledger.xlsx?region=532322").status_code == 404
    assert len(sheet_rows(cx.get("/ledger.xlsx").data, 0)) == 1 + 2  # its own going-home rows only
    sup = browser(app, "sup_cz")
    assert "共 7 条" in text_of(sup.get("/ledger"))
    assert "共 4 条" in text_of(sup.get("/ledger?region=532322"))
    # The prefecture picks the county to import into.
    form = sup.get("/ledger").get_data(as_text=True)
    assert "双柏县（532322）" in form and "楚雄彝族自治州（532300）" not in form


def test_opening_cases_from_the_ledger_says_how_many(app, users):
    web = browser(app, "clerk_cx")
    upload(web, demo_ledger_xlsx(12, "532301"))
    # One of the three unemployed who want work (rows 3, 7 and 11) already has a case: named, with why.
    data = intake()
    data["seeker"]["id_number"] = _ric(107, "532301")
    earlier = services.open_case(users["clerk_cx"], "temp_job", "532301", data, OPENED)
    done = post(web, "/ledger/cases", {"region": "532301", "priority_group": "returning_migrant"}, page="/ledger",
                follow_redirects=True)
    assert done.status_code == 200
    body = text_of(done)
    assert "已登记 2 件临时性岗位求职案件。" in body
    assert f"1 人未能登记案件：罗正发7（该求职人员已有在办案件 {earlier.number}）" in body
    numbers = list(db.session.scalars(select(Case.number).where(Case.process == "temp_job",
                                                                Case.number != earlier.number)))
    assert len(numbers) == 2
    listed = web.get("/ledger?list=unemployed").get_data(as_text=True)
    assert all(f'href="/cases/{n}"' in listed for n in numbers)
    again = post(web, "/ledger/cases", {"priority_group": "returning_migrant"}, page="/ledger",
                 follow_redirects=True)
    assert "已登记" not in text_of(again) and "1 人未能登记案件" in text_of(again)
    nobody = post(browser(app, "clerk_sb"), "/ledger/cases", {}, page="/ledger", follow_redirects=True)
    assert "没有需要登记案件的人员（未就业、有返岗意愿且尚无案件）。" in text_of(nobody)
    bad = post(web, "/ledger/cases", {"priority_group": "nope"}, page="/ledger")
    assert bad.status_code == 400 and field_error(bad, "priority_group").startswith("取值应为")
    elsewhere = post(web, "/ledger/cases", {"region": "532322"}, page="/ledger")
    assert elsewhere.status_code == 404 and "不在您的辖区内" in text_of(elsewhere)


def test_odd_query_strings_never_fail(app, users):
    web = browser(app, "clerk_cx")
    upload(web, demo_ledger_xlsx(30, "532301"))
    for url in ("/ledger?page=-1", "/ledger?page=0", "/ledger?page=abc", "/ledger?page=99999999999999999999999",
                "/ledger?list=nope", "/ledger?list=", "/ledger?region=", "/ledger?q=%20%20",
                "/ledger?per_page=100000", "/reports/131?region=", "/reports/131?page=-1"):
        assert web.get(url).status_code == 200, url
    assert "1 / 2" in text_of(web.get("/ledger?page=-1"))
    assert "共 30 条" in text_of(web.get("/ledger?list=nope"))
    huge = web.get("/ledger?page=99999999999999999999999")
    assert "共 30 条" in text_of(huge) and 'id="ledger-list"' not in huge.get_data(as_text=True)
    # A region filter that is no six-digit code is refused (the page named it), not silently dropped.
    for url in ("/ledger?q=a%00b", "/ledger?list=%00", "/ledger?region=12", "/reports/131?region=%00",
                "/reports/131?region=53", "/ledger.xlsx?region=12", "/reports/131.xlsx?region=5323011",
                "/ledger?region=abc", "/ledger?region=53230100000000", "/reports/131?region=abc"):
        response = web.get(url)
        assert response.status_code == 400 and "Traceback" not in response.get_data(as_text=True), url
    long_query = web.get("/ledger?q=" + "张" * 51)
    assert long_query.status_code == 400 and "最多 50 个字符" in text_of(long_query)
    assert "共 5 条" in text_of(web.get("/ledger?q=" + "普文学" + "%20" * 60))  # spaces around are trimmed
    assert web.get("/ledger/import").status_code == 405


def test_the_pages_in_english(app, users, served):
    web = browser(app, "sup_cz")
    upload(web, demo_ledger_xlsx(4, "532301"))
    assert post(web, "/language", {"language": "en", "next": "/ledger"}).status_code == 302
    ledger_page = web.get("/ledger")
    assert ledger_page.status_code == 200 and 'lang="en"' in ledger_page.get_data(as_text=True)
    assert "Export to Excel" in text_of(ledger_page) and "Region" in text_of(ledger_page)
    report = web.get("/reports/131")
    assert report.status_code == 200 and "Total" in text_of(report) and "Owed" in text_of(report)
    bad = upload(web, xlsx([bad_row(1, employed="也许")]))
    assert bad.status_code == 400 and 'lang="en"' in bad.get_data(as_text=True)
    assert web.get("/reports/131.xlsx").status_code == 200


def test_the_page_texts_match_the_engine(app):
    """The lists and columns named on the page are the engine's; the engine messages listed for translation are
    ones the engine raises."""
    assert set(ledger_pages.LIST_LABELS) == set(ledger.LISTS)
    assert {c.key for c in ledger_sheet.COLUMNS} <= set(ledger_pages.COLUMN_LABELS)
    source = inspect.getsource(ledger) + inspect.getsource(ledger_sheet)
    for text in ledger_pages.LEDGER_MESSAGES:
        assert text in source, text
    with app.test_request_context():
        assert ledger_pages.cell_message("与第2行的身份证号码重复") == "与第2行的身份证号码重复"
        assert ledger_pages.cell_message("缺少“是否就业”列") == "缺少“是否就业”列"
        assert ledger_pages.cell_message("身份证号码无效（18位，校验位不符）") == "身份证号码无效（18位，校验位不符）"
