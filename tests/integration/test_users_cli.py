"""An administrator's account commands (web/cli.py, engine/accounts.py): `flask users list` (with accounts whose
region is no longer in force named, and the locked), `users update` (roles, region, display name, deactivation that
ends the user's sessions and tokens) and `users reset-password` (a temporary password that also ends a lock-out, from
every address). Bad input is exit status 2 naming the field, with nothing changed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine import accounts, api_tokens, sign_in_lock
from engine.db import db
from engine.models import SignInFailure, User
from tests.conftest import at, make_user

PASSWORD = "new-horse-42x"


def run(app, *args: str, stdin: str | None = None):
    return app.test_cli_runner().invoke(args=list(args), input=stdin)


def user(name: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == name))


def lock(name: str, address: str, until) -> None:
    """`name` locked for `address` until `until`, as failed sign-ins leave it (engine/accounts.py)."""
    db.session.add(SignInFailure(name_key=sign_in_lock.name_key(name), address_key=sign_in_lock.address_key(address),
                                 failed_logins=0, locked_until=until,
                                 last_failed_login_at=until - timedelta(minutes=15)))
    db.session.commit()


def locks_of(name: str) -> int:
    db.session.expire_all()
    key = sign_in_lock.name_key(name)
    return len(db.session.scalars(select(SignInFailure).where(SignInFailure.name_key == key)).all())


def test_users_list_names_inactive_users_and_regions_no_longer_in_force(app, ctx):
    make_user("insp_cx", ["inspector"], "532301")
    old = make_user("insp_lf", ["inspector"], "532302")
    old.region = "532331"  # 禄丰县, abolished in 2021: written before the check existed
    db.session.commit()
    result = run(app, "users", "list")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "532301 楚雄市" in lines["insp_cx"] and "[" not in lines["insp_cx"]
    assert "region not in force" in lines["insp_lf"]
    assert "2 users" in result.output


def test_users_list_names_the_locked_and_from_how_many_addresses(app, ctx):
    from datetime import UTC, datetime

    for name in ("insp_cx", "insp_lf", "clerk_cx"):
        make_user(name, ["inspector"], "532301")
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    lock("insp_cx", "10.0.0.2", soon)
    lock("insp_cx", "10.0.0.3", soon + timedelta(minutes=3))
    lock("insp_lf", "10.0.0.2", soon)
    lock("clerk_cx", "10.0.0.2", soon - timedelta(minutes=20))  # run out
    result = run(app, "users", "list")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    last = soon + timedelta(minutes=3)
    assert f"[locked from 2 addresses until {last:%Y-%m-%d %H:%M} UTC]" in lines["insp_cx"]
    assert f"[locked from 1 address until {soon:%Y-%m-%d %H:%M} UTC]" in lines["insp_lf"]
    assert "[" not in lines["clerk_cx"]


def test_users_update_changes_roles_region_and_deactivates(app, ctx):
    make_user("insp_lf", ["inspector"], "532302")
    token = api_tokens.issue_token(user("insp_lf"), at("2021-02-01 09:00"), 12)
    epoch = user("insp_lf").session_epoch
    result = run(app, "users", "update", "insp_lf", "--role", "inspector", "--role", "supervisor",
                 "--region", "532300", "--display-name", "李娜")
    assert result.exit_code == 0, result.output
    changed = user("insp_lf")
    assert changed.roles == ["inspector", "supervisor"] and changed.region == "532300"
    assert changed.display_name == "李娜" and changed.session_epoch == epoch  # still signed in
    assert run(app, "users", "update", "insp_lf", "--inactive").exit_code == 0
    gone = user("insp_lf")
    assert not gone.active and gone.session_epoch == epoch + 1
    assert api_tokens.user_for_token(token, at("2021-02-01 10:00")) is None
    assert run(app, "users", "update", "insp_lf", "--active").exit_code == 0
    assert user("insp_lf").active
    assert api_tokens.user_for_token(token, at("2021-02-01 10:00")) is None  # the old token stays revoked


def test_users_update_refuses_bad_input_and_changes_nothing(app, ctx):
    make_user("insp_cx", ["inspector"], "532301")
    for args, said in ((("--region", "532399"), "region: 行政区划代码无效"),
                       (("--region", ""), "只有系统管理员可以不设辖区"),
                       (("--display-name", "  "), "display_name: 不能为空"),
                       ((), "nothing to change")):
        result = run(app, "users", "update", "insp_cx", *args)
        assert result.exit_code == 2 and said in result.output, (args, result.output)
    assert user("insp_cx").region == "532301" and user("insp_cx").display_name == "insp_cx"
    missing = run(app, "users", "update", "nobody", "--inactive")
    assert missing.exit_code == 2 and "用户 nobody 不存在" in missing.output
    assert run(app, "users", "update", "insp_cx", "--role", "boss").exit_code == 2


def test_reset_password_is_temporary_and_ends_a_lock_out(app, ctx):
    make_user("insp_cx", ["inspector"], "532301")
    make_user("clerk_cx", ["clerk"], "532301")
    far = at("2021-02-01 09:00") + timedelta(days=3650)
    for address in ("10.0.0.2", "10.0.0.3"):  # locked from two addresses
        lock("insp_cx", address, far)
    lock("clerk_cx", "10.0.0.2", far)
    weak = run(app, "users", "reset-password", "insp_cx", "--password-stdin", stdin="short\n")
    assert weak.exit_code == 2 and "password" in weak.output
    assert locks_of("insp_cx") == 2  # a refused reset changes nothing
    result = run(app, "users", "reset-password", "insp_cx", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 0 and "must be changed at the next sign-in" in result.output
    reset = user("insp_cx")
    assert reset.must_change_password and locks_of("insp_cx") == 0
    for address in ("10.0.0.2", "10.0.0.3"):  # every address's lock has ended
        assert accounts.authenticate("insp_cx", PASSWORD, at("2021-02-01 10:00"), address=address) is not None
    assert locks_of("clerk_cx") == 1  # another name's lock is not touched


def test_the_last_administrator_cannot_be_deactivated_and_names_hold_no_invisible_characters(app, ctx):
    """QA: `users update admin --inactive` left nobody to change the rules or manage accounts, and a display name
    with a right-to-left override was taken."""
    make_user("admin_yn", ["admin"], "")
    make_user("insp_cx", ["inspector"], "532301")
    for args in (("--inactive",), ("--role", "supervisor")):
        result = run(app, "users", "update", "admin_yn", *args)
        assert result.exit_code == 2 and "最后一个在用的系统管理员" in result.output, result.output
    assert user("admin_yn").active and user("admin_yn").roles == ["admin"]
    bad = run(app, "users", "update", "insp_cx", "--display-name", "\u202e坏名字")
    assert bad.exit_code == 2 and "display_name" in bad.output and user("insp_cx").display_name == "insp_cx"
    make_user("admin_km", ["admin"], "")
    assert run(app, "users", "update", "admin_yn", "--inactive").exit_code == 0  # another one is left
