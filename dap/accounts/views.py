"""Sign in and out, password reset, profile, and the admin's user management."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from dap import policy
from dap.accounts import services
from dap.accounts.forms import (
    ChangePasswordForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
    ResetRequestForm,
    UserCreateForm,
    UserRolesForm,
)
from dap.accounts.models import User
from dap.core.forms import ConfirmForm, apply_domain_error, attempt
from dap.errors import DomainError
from dap.extensions import db, limiter
from dap.nudges.services import queue_email
from dap.timecap.gate import allowed_when_capped

bp = Blueprint("accounts", __name__)


def hash_params() -> services.HashParams:
    return current_app.config["PASSWORD_HASH_PARAMS"] or services.HashParams()


def safe_next(target: str | None) -> str | None:
    """Only local paths may be a ``next`` target: no scheme, no host, no ``//`` or ``\\``."""
    if not target or len(target) > 2000:
        return None
    if not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    if any(ord(c) < 32 for c in target):
        return None
    return target


def _login_email_key() -> str:
    """Rate-limit key for one account: the normalised email being tried."""
    raw = (request.form.get("email") or "").strip().lower()[:254]
    return f"login-account:{raw}"


def _reset_email_key() -> str:
    raw = (request.form.get("email") or "").strip().lower()[:254]
    return f"reset-account:{raw}"


def sign_in_browser(user: User, *, remember: bool) -> None:
    """Start a fresh session for ``user`` (clearing the old one: no fixation)."""
    session.clear()
    services.start_session(user, user_agent=request.user_agent.string)
    db.session.commit()
    login_user(user, remember=remember)


# --- sign in and out ----------------------------------------------------------------------


#: the session's note that the person has just signed out on this device
SIGNED_OUT = "signed_out"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute;60 per hour", methods=["POST"])
@limiter.limit("10 per 15 minutes", key_func=_login_email_key, methods=["POST"])
@policy.anonymous_only
def login():
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("core.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                email=form.email.data or "",
                password=form.password.data or "",
                params=hash_params(),
                lockout_threshold=current_app.config["LOGIN_LOCKOUT_THRESHOLD"],
                lockout_minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"],
            )
        except services.SignInError as error:
            db.session.commit()  # keep the failure count
            form.form_errors.append(error.message)
            return render_template("accounts/login.html", form=form), (
                429 if error.code == "locked" else 401 if error.code == "bad_credentials" else 403
            )
        db.session.commit()
        sign_in_browser(user, remember=bool(form.remember.data))
        flash(f"Welcome back, {user.first_name}.", "success")
        return redirect(next_url or url_for("core.index"))
    status = 400 if request.method == "POST" else 200
    # Right after signing out, the page's script clears what this device kept offline (for
    # browsers that ignore Clear-Site-Data).
    signed_out = request.method == "GET" and session.pop(SIGNED_OUT, False)
    return render_template("accounts/login.html", form=form, signed_out=signed_out), status


@bp.route("/logout", methods=["GET", "POST"])
@policy.public
@allowed_when_capped
def logout():
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if current_user.is_authenticated:
            services.end_session(current_user._get_current_object())
            db.session.commit()
        logout_user()
        session.clear()
        session[SIGNED_OUT] = True
        flash("You have signed out.", "success")
        response = redirect(url_for("accounts.login"))
        # A shared device keeps nothing of the person: pages kept for offline use, entries
        # waiting to be sent, the service worker's caches (see docs/OFFLINE.md).
        response.headers["Clear-Site-Data"] = '"cache", "storage"'
        return response
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    return render_template("accounts/logout.html", form=form)


# --- password reset -------------------------------------------------------------------------


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("5 per minute;20 per hour", methods=["POST"])
@limiter.limit("3 per hour", key_func=_reset_email_key, methods=["POST"])
@policy.public
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        try:
            address = services.normalise_email(form.email.data)
        except DomainError as error:
            apply_domain_error(form, error)
            return render_template("accounts/reset_request.html", form=form), 400
        user = services.get_user_by_email(address)
        if user is not None and user.is_active:
            token = services.make_reset_token(user, current_app.config["SECRET_KEY"])
            link = current_app.config["BASE_URL"] + url_for("accounts.reset_password", token=token)
            queue_email(
                to=user.email,
                subject="Reset your DAP password",
                template="password_reset",
                context={"user": user, "link": link,
                         "minutes": current_app.config["PASSWORD_RESET_MAX_AGE"] // 60},
                dedup_key=f"password-reset:{user.id}:{token[-24:]}",
                kind="password_reset",
            )
            db.session.commit()
        # The same answer whether or not the address has an account.
        return render_template("accounts/reset_sent.html", email=address)
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/reset_request.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
@policy.public
def reset_password(token: str):
    config = current_app.config
    try:
        user = services.user_for_reset_token(
            token, secret_key=config["SECRET_KEY"], max_age=config["PASSWORD_RESET_MAX_AGE"]
        )
    except DomainError as error:
        return render_template("accounts/reset_invalid.html", message=error.message,
                               form=ResetRequestForm()), 410 if error.code in {"expired", "used"} else 400
    form = ResetPasswordForm()
    if form.validate_on_submit() and attempt(form, lambda: services.reset_password(
            token, new_password=form.password.data or "", secret_key=config["SECRET_KEY"],
            max_age=config["PASSWORD_RESET_MAX_AGE"], params=hash_params())):
        if current_user.is_authenticated:
            logout_user()
        session.clear()
        flash("Your password has been changed. Sign in with the new one.", "success")
        return redirect(url_for("accounts.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/reset_password.html", form=form, user=user), status


# --- my account ---------------------------------------------------------------------------


@bp.route("/account", methods=["GET", "POST"])
@policy.signed_in
@allowed_when_capped
def account():
    profile = ProfileForm(prefix="profile", obj=current_user if request.method == "GET" else None)
    profile.timezone.choices = services.timezone_names()
    if request.method == "POST" and profile.validate_on_submit() and attempt(
            profile, lambda: services.update_profile(current_user, name=profile.name.data or "",
                                                     timezone=profile.timezone.data or "")):
        flash("Your profile has been saved.", "success")
        return redirect(url_for("accounts.account"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "accounts/account.html", profile=profile, password=ChangePasswordForm(prefix="pw"),
        confirm=ConfirmForm(), sessions=services.list_sessions(current_user),
    ), status


@bp.route("/account/password", methods=["POST"])
@policy.signed_in
@allowed_when_capped
def change_password():
    form = ChangePasswordForm(prefix="pw")
    if form.validate_on_submit() and attempt(form, lambda: services.change_password(
            current_user, current=form.current_password.data or "",
            new=form.new_password.data or "", params=hash_params())):
        sign_in_browser(current_user._get_current_object(), remember=False)
        flash("Your password has been changed. Other devices have been signed out.", "success")
        return redirect(url_for("accounts.account"))
    profile = ProfileForm(prefix="profile", obj=current_user)
    profile.timezone.choices = services.timezone_names()
    return render_template("accounts/account.html", profile=profile, password=form,
                           confirm=ConfirmForm(),
                           sessions=services.list_sessions(current_user)), 400


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@policy.signed_in
@allowed_when_capped
def sign_out_everywhere():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    user = current_user._get_current_object()
    services.end_other_sessions(user)
    db.session.commit()
    sign_in_browser(user, remember=False)
    flash("You have been signed out on every other device.", "success")
    return redirect(url_for("accounts.account"))


# --- admin: users ------------------------------------------------------------------------


@bp.get("/admin/users")
@policy.admin
def admin_users():
    query = request.args.get("q", "")[:100]
    page = request.args.get("page", 1, type=int) or 1
    page = min(max(page, 1), 100000)
    users, total = services.search_users(query, page=page)
    return render_template("accounts/admin_users.html", users=users, total=total, q=query,
                           page=page, per_page=25)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@policy.admin
def admin_user_new():
    form = UserCreateForm()
    created: list[User] = []

    def create() -> None:
        """The account and, if asked for, its set-a-password email: one transaction."""
        user = services.create_user(
            email=form.email.data or "", name=form.name.data or "", password=None,
            params=hash_params(), timezone=current_app.config["DEFAULT_TIMEZONE"],
            is_admin=bool(form.is_admin.data), is_facilitator=bool(form.is_facilitator.data),
        )
        created.append(user)
        if form.send_reset.data:
            token = services.make_reset_token(user, current_app.config["SECRET_KEY"])
            link = current_app.config["BASE_URL"] + url_for("accounts.reset_password",
                                                            token=token)
            queue_email(
                to=user.email, subject="Your DAP account is ready",
                template="account_created",
                context={"user": user, "link": link, "admin": current_user,
                         "minutes": current_app.config["PASSWORD_RESET_MAX_AGE"] // 60},
                dedup_key=f"account-created:{user.id}", kind="account_created",
            )

    if form.validate_on_submit() and attempt(form, create):
        user = created[0]
        flash(f"Account created for {user.name}.", "success")
        return redirect(url_for("accounts.admin_user", user_id=user.id))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/admin_user_new.html", form=form), status


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@policy.admin
def admin_user(user_id: int):
    user = policy.load_user_for_admin(current_user, user_id)
    form = UserRolesForm(obj=user if request.method == "GET" else None)
    if form.validate_on_submit() and attempt(form, lambda: services.set_site_roles(
            user, is_admin=bool(form.is_admin.data),
            is_facilitator=bool(form.is_facilitator.data), actor=current_user)):
        flash("Roles saved.", "success")
        return redirect(url_for("accounts.admin_user", user_id=user.id))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/admin_user.html", user=user, form=form,
                           confirm=ConfirmForm()), status


@bp.post("/admin/users/<int:user_id>/active")
@policy.admin
def admin_user_set_active(user_id: int):
    user = policy.load_user_for_admin(current_user, user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    if not attempt(None, lambda: services.set_active(user, active=active, actor=current_user)):
        return redirect(url_for("accounts.admin_user", user_id=user.id)), 303
    flash(f"{user.name} {'can sign in again' if active else 'has been deactivated and signed out'}.",
          "success")
    return redirect(url_for("accounts.admin_user", user_id=user.id)), 303
