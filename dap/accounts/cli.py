"""``flask --app dap token …``: personal access tokens for scripts."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from dap.accounts import api_tokens
from dap.accounts.models import ApiToken, TokenScope, User
from dap.errors import DomainError
from dap.extensions import db

token_cli = AppGroup("token", help="Personal access tokens for the JSON API.")


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No account with the email {email!r}.")
    return user


@token_cli.command("create")
@click.argument("email")
@click.option("--name", default="Script", show_default=True, help="What the token is for.")
@click.option("--scope", type=click.Choice([s.value for s in TokenScope]), default="read-write",
              show_default=True)
@click.option("--expires", "expires_on", type=click.DateTime(formats=["%Y-%m-%d"]),
              default=None, help="Last day it works (YYYY-MM-DD); none: it does not expire.")
def create_command(email: str, name: str, scope: str, expires_on) -> None:
    """Make a token for EMAIL and print it (once: only its hash is kept)."""
    user = _user(email)
    day: date | None = expires_on.date() if expires_on else None
    try:
        _, secret = api_tokens.create(user, name=name, scope=scope, expires_on=day, actor=user)
    except DomainError as error:
        db.session.rollback()
        where = f"Invalid value for '--{error.field.replace('_on', '')}': " if error.field else ""
        raise click.ClickException(f"{where}{error.message}") from None
    db.session.commit()
    click.echo(secret)


@token_cli.command("list")
@click.argument("email")
def list_command(email: str) -> None:
    """List EMAIL's tokens (never the tokens themselves)."""
    for token in api_tokens.tokens_of(_user(email)):
        state = ("revoked" if token.revoked_at else "expired"
                 if not api_tokens.is_live(token) else "live")
        used = token.last_used_at.strftime("%Y-%m-%d %H:%M") if token.last_used_at else "never"
        click.echo(f"{token.id}\t{token.prefix}…\t{token.scope.value}\t{state}\tlast used "
                   f"{used}\t{token.name}")


@token_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke_command(token_id: int) -> None:
    """Revoke token TOKEN_ID (as listed by ``token list``)."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"No token {token_id}.")
    revoked = api_tokens.revoke(token, actor=None)
    db.session.commit()
    click.echo(f"Revoked token {token_id}." if revoked else f"Token {token_id} was already "
               "revoked.")
