"""Signing in and out, the forced password change, and the language switch (Flask-Login sessions, CSRF on every
form). The JSON API does not use any of this: it takes bearer tokens only."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from engine import accounts, sign_in_lock
from engine.db import db
from engine.models import User
from engine.validation import DataInvalid
from web.api import now
from web.forms import ChangePasswordForm, LoginForm
from web.messages import message

bp = Blueprint("auth", __name__)

LANGUAGES = {"zh_CN": "中文", "en": "English"}
# Set in the session when someone picks a language with the switch (not kept over a sign-out, so the next person
# at a shared PC signs in in their own language).
LANGUAGE_CHOSEN = "language_chosen"
# Reachable while a password change is pending (and without signing in, for the first three).
OPEN_ENDPOINTS = {"auth.login", "auth.set_language", "static", "auth.logout", "auth.change_password"}


def init_app(app) -> None:
    """Flask-Login and Flask-Babel, bound to the app (called from register_extensions)."""
    from web.extensions import babel, login_manager

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("请先登录")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=_translations_dir(app))
    compile_translations_if_needed(app)


def _translations_dir(app) -> str:
    from pathlib import Path

    return str(Path(app.root_path) / "translations")  # web/translations


def compile_translations_if_needed(app) -> None:
    """Compile each catalogue's .po to .mo when the .mo is missing or older: only the .po files are kept in the
    repository, and a fresh checkout needs no extra build step."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in Path(_translations_dir(app)).glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        try:
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            with po.open("rb") as handle:
                catalog = read_po(handle)
            tmp = mo.with_suffix(".mo.tmp")
            with tmp.open("wb") as handle:
                write_mo(handle, catalog)
            tmp.replace(mo)
        except OSError:  # a read-only install: the committed/compiled .mo is used as it is
            app.logger.warning("could not compile %s", po)


def _load_user(session_id: str) -> User | None:
    """The user of a session id "id:epoch" (User.get_id). A session from before the user's last password change
    carries an older epoch and is signed out. A bare "id" was written before epochs existed: it counts as epoch 0,
    so it lasts only until the user's first password change."""
    user_id, _sep, epoch = (session_id or "").partition(":")
    try:
        user = db.session.get(User, int(user_id))
        epoch_number = int(epoch or 0)
    except (TypeError, ValueError):
        return None
    if user is None or not user.active or epoch_number != (user.session_epoch or 0):
        return None
    return user


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    chosen = session.get("language")
    return chosen if chosen in LANGUAGES else current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")


# When the session signed in (seconds since the epoch): a session ends PERMANENT_SESSION_LIFETIME after it, however
# it was used. Flask re-signs the cookie whenever the session changes (a CSRF token, a flash message), and the
# cookie's own age counts from that, so the cookie alone would let a session in use run for ever.
SIGNED_IN_AT = "signed_in_at"


def _start_session(user: User) -> None:
    login_user(user)
    session[SIGNED_IN_AT] = int(time.time())


@bp.before_app_request
def _end_sessions_past_their_time():
    if request.path.startswith("/api/") or request.endpoint == "static":  # bearer tokens have their own expiry
        return None
    signed_in = session.get(SIGNED_IN_AT)
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if current_user.is_authenticated and (not isinstance(signed_in, int) or time.time() - signed_in > lifetime):
        logout_user()
        session.clear()
        return current_app.login_manager.unauthorized()
    return None


@bp.before_app_request
def _password_change_first():
    if request.path.startswith("/api/") or request.endpoint in OPEN_ENDPOINTS or request.endpoint is None:
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    return None


# Scripts, styles, fonts and images from this site only (bpmn-js styles its drawing inline; no page inlines a
# script), no plugins, not framed, forms posted here only.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'self'; "
                           "form-action 'self'; frame-ancestors 'none'")


@bp.after_app_request
def _security_headers(response):
    """Pages are not framed or sniffed and run this site's scripts only; nothing served to a signed-in user or
    through the API is kept in the browser's cache (shared office PCs: the back button after signing out must not
    show a case, a downloaded notice or an export), the site's static files aside."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if request.endpoint != "static" and (request.path.startswith("/api/")
                                         or (current_user and current_user.is_authenticated)):
        response.headers["Cache-Control"] = "no-store"
    return response


def require_login():
    """before_request of the page blueprints: anyone not signed in goes to the sign-in page."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


def safe_local_url(target: str | None, default: str) -> str:
    """`target` when it is a path on this site, else `default`. Browsers read a backslash as a slash and drop tabs
    and newlines, so a path with either (/ backslash evil.example) would leave the site: refused."""
    if target and target.startswith("/") and not any(c == "\\" or ord(c) < 32 for c in target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and not target.startswith("//"):
            return target
    return default


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("pages.index"))
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        cfg = current_app.config
        try:
            user = accounts.authenticate(form.username.data.strip(), form.password.data, now(),
                                         address=request.remote_addr, max_failures=cfg["LOGIN_MAX_FAILURES"],
                                         lock_minutes=cfg["LOGIN_LOCK_MINUTES"],
                                         window_minutes=cfg["LOGIN_FAILURE_WINDOW_MINUTES"])
        except sign_in_lock.LockedOut as exc:
            user, error, status = None, message(exc.message), 429
        else:
            if user is None:
                error, status = _("用户名或密码错误"), 401
        if user is not None:
            language = session.get("language") if session.get(LANGUAGE_CHOSEN) else None
            session.clear()  # no session fixation
            _start_session(user)
            # A language picked on the sign-in page is the one this person reads: it wins over the stored one.
            if language in LANGUAGES and user.language != language:
                user.language = language
                db.session.commit()
            if user.must_change_password:
                return redirect(url_for("auth.change_password"))
            return redirect(safe_local_url(request.args.get("next"), url_for("pages.index")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Everywhere: a copy of this session's cookie must not stay valid after signing out.
        accounts.end_page_sessions(db.session.get(User, current_user.id))
        db.session.commit()
    logout_user()
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language
    flash(_("您已安全退出"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    errors: dict[str, str] = {}
    status = 200
    if form.validate_on_submit():
        user = db.session.get(User, current_user.id)
        ok = True
        cfg = current_app.config
        try:
            # Through authenticate, so guessing the current password here counts towards the lock-out too.
            if accounts.authenticate(user.username, form.current_password.data, now(), address=request.remote_addr,
                                     max_failures=cfg["LOGIN_MAX_FAILURES"], lock_minutes=cfg["LOGIN_LOCK_MINUTES"],
                                     window_minutes=cfg["LOGIN_FAILURE_WINDOW_MINUTES"]) is None:
                ok, errors["current_password"] = False, _("当前密码不正确")
        except sign_in_lock.LockedOut as exc:
            ok, errors["current_password"] = False, message(exc.message)
        user = db.session.get(User, current_user.id)
        if ok and form.new_password.data == form.current_password.data:
            ok, errors["new_password"] = False, _("新密码不能与当前密码相同")
        if ok:
            try:
                accounts.set_password(user, form.new_password.data, now())
            except DataInvalid as exc:
                db.session.rollback()
                errors["new_password"] = message(exc.fields.get("password", exc.message))
            else:
                # The change signed out every session of the user (new epoch): this one signs in again and stays.
                login_user(user)
                flash(_("密码已修改"), "success")
                return redirect(url_for("pages.index"))
        status = 400
    elif request.method == "POST":
        status = 400
    return render_template("auth/password.html", form=form, errors=errors), status


@bp.post("/language")
def set_language():
    language = request.form.get("language", "")
    if language in LANGUAGES:
        session["language"] = language
        session[LANGUAGE_CHOSEN] = True
        if current_user.is_authenticated:
            user = db.session.get(User, current_user.id)
            user.language = language
            db.session.commit()
    return redirect(safe_local_url(request.form.get("next"), url_for("pages.index")))
