"""Personal access tokens on the web: one's own (make, list, revoke) and, for admins,
every live token on the site (revoke any)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from dap import policy
from dap.accounts import api_tokens
from dap.accounts.forms import TokenForm
from dap.accounts.models import ApiToken
from dap.core.forms import ConfirmForm, apply_domain_error
from dap.errors import DomainError
from dap.extensions import db, limiter
from dap.timecap.gate import allowed_when_capped

bp = Blueprint("api_tokens", __name__)


def _page(form: TokenForm, *, status: int = 200, secret: str | None = None,
          made: ApiToken | None = None):
    response = render_template(
        "accounts/tokens.html", form=form, confirm=ConfirmForm(), secret=secret, made=made,
        tokens=api_tokens.tokens_of(current_user), is_live=api_tokens.is_live,
        max_live=api_tokens.MAX_LIVE)
    # the page holding a new token must not be kept by the browser or a proxy
    return response, status, {"Cache-Control": "no-store"}


@bp.route("/account/tokens", methods=["GET", "POST"])
@policy.signed_in
@allowed_when_capped
@limiter.limit("30 per hour", methods=["POST"],
               key_func=lambda: f"api-token:{getattr(current_user, 'id', 'anon')}")
def tokens():
    if current_user.is_managed:
        abort(404)
    form = TokenForm() if request.method == "POST" else TokenForm(formdata=None)
    if request.method == "GET":
        return _page(form)
    if form.validate_on_submit():
        try:
            made, secret = api_tokens.create(
                current_user, name=form.name.data or "", scope=form.scope.data,
                expires_on=form.expires_on.data, actor=current_user)
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            return _page(TokenForm(formdata=None), status=201, secret=secret, made=made)
    return _page(form, status=400)


def _revoke(token: ApiToken, *, back: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if api_tokens.revoke(token, actor=current_user):
        flash(f"Revoked “{token.name}”: it no longer opens anything.", "success")
    db.session.commit()
    return redirect(back, code=303)


@bp.post("/account/tokens/<int:token_id>/revoke")
@policy.signed_in
@allowed_when_capped
def revoke(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    return _revoke(token, back=url_for("api_tokens.tokens"))


@bp.get("/admin/tokens")
@policy.admin
def admin_tokens():
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100000)
    rows, total = api_tokens.live_tokens(page=page)
    return render_template("accounts/admin_tokens.html", tokens=rows, total=total, page=page,
                           per_page=50, confirm=ConfirmForm())


@bp.post("/admin/tokens/<int:token_id>/revoke")
@policy.admin
def admin_revoke(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    return _revoke(token, back=url_for("api_tokens.admin_tokens"))
