"""Privacy: download everything DAP holds about me; delete my account (or, for admins and
facilitators, someone else's)."""

from __future__ import annotations

import io

from flask import Blueprint, flash, redirect, render_template, request, send_file, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, logout_user

from dap import policy
from dap.accounts import privacy
from dap.accounts.forms import DeleteAccountForm
from dap.accounts.views import hash_params, safe_next
from dap.clock import local_date, now_utc
from dap.core.forms import attempt
from dap.extensions import limiter
from dap.timecap.gate import allowed_when_capped

bp = Blueprint("privacy", __name__)


def _user_key() -> str:
    """Rate-limit key: the signed-in account (whatever its address), else the address."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


@bp.get("/account/export")
@limiter.limit("10 per hour", key_func=_user_key)
@policy.signed_in
@allowed_when_capped
def export():
    user = current_user._get_current_object()
    data = privacy.export_user_data(user)
    day = local_date(now_utc(), user.timezone).isoformat()
    response = send_file(io.BytesIO(data), mimetype="application/zip", as_attachment=True,
                         download_name=f"dap-export-{day}.zip", max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/delete", methods=["GET", "POST"])
@limiter.limit("10 per hour", key_func=_user_key, methods=["POST"])
@policy.signed_in
@allowed_when_capped
def delete_account():
    user = current_user._get_current_object()
    form = DeleteAccountForm()
    if form.validate_on_submit() and attempt(form, lambda: privacy.delete_account(
            user, actor=user, password=form.password.data or "", params=hash_params())):
        logout_user()
        session.clear()
        return redirect(url_for("privacy.deleted"))
    status = 400 if request.method == "POST" else 200
    return render_template("privacy/delete_account.html", form=form,
                           summary=privacy.deletion_summary(user)), status


@bp.get("/account/deleted")
@policy.anonymous_only
@allowed_when_capped
def deleted():
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    return render_template("privacy/deleted.html")


@bp.route("/admin/users/<int:user_id>/delete", methods=["GET", "POST"])
@limiter.limit("10 per hour", key_func=_user_key, methods=["POST"])
@policy.signed_in  # admins, and co-facilitators without the site flag: scope is checked below
def delete_user(user_id: int):
    actor = current_user._get_current_object()
    user = policy.load_user_to_delete(actor, user_id)
    if user.id == actor.id:
        return redirect(url_for("privacy.delete_account"))
    next_url = safe_next(request.args.get("next"))
    form = DeleteAccountForm()
    form.password.description = f"Your own password, to confirm that you are deleting {user.name}'s account."
    name = user.name
    if form.validate_on_submit() and attempt(form, lambda: privacy.delete_account(
            user, actor=actor, password=form.password.data or "", params=hash_params())):
        flash(f"{name}'s account has been deleted.", "success")
        if next_url:
            return redirect(next_url, 303)
        if policy.is_admin(actor):
            return redirect(url_for("accounts.admin_user", user_id=user.id), 303)
        return redirect(url_for("core.index"), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("privacy/delete_user.html", form=form, user=user, next_url=next_url,
                           summary=privacy.deletion_summary(user)), status
