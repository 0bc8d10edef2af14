"""`parley business ...`: the operator creates business accounts and manages their access tokens."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from parley.cli.common import with_container
from parley.container import Container
from parley.kit.ids import parse_id

business_app = typer.Typer(help="Business accounts (WABAs), numbers and access tokens.", no_args_is_help=True)
token_app = typer.Typer(help="Access tokens scoped to one business account.", no_args_is_help=True)
business_app.add_typer(token_app, name="token")
console = Console()


def _waba(raw: str) -> int:
    waba_id = parse_id(raw)
    if waba_id is None:
        console.print(f"[red]error:[/red] {raw!r} is not a business account id")
        raise typer.Exit(code=2)
    return waba_id


@business_app.command("create")
def business_create(
    name: Annotated[str, typer.Option(help="Business (display) name.")],
    phone: Annotated[str, typer.Option(help="The business number, with country code.")],
    webhook_url: Annotated[str | None, typer.Option(help="Callback URL for webhooks.")] = None,
    verify_token: Annotated[str, typer.Option(help="Verify token of the webhook handshake.")] = "",
    app_secret: Annotated[str | None, typer.Option(help="App secret signing webhooks (default: generated).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Create a business account with its first phone number, app and access token."""

    async def work(c: Container) -> dict[str, str]:
        created = await c.business.create_business(
            name, phone, webhook_url=webhook_url, verify_token=verify_token, app_secret=app_secret
        )
        return {
            "waba_id": str(created.waba_id),
            "phone_number_id": str(created.phone_number_id),
            "access_token": created.access_token,
            "app_id": str(created.app_id),
            "app_secret": created.app_secret,
        }

    result = with_container(work)
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title=f"Business {name}")
    table.add_column("field")
    table.add_column("value")
    for key, value in result.items():
        table.add_row(key, value)
    console.print(table)


@token_app.command("create")
def token_create(
    waba_id: Annotated[str, typer.Argument(help="Business account id.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "system user",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Create another access token for a business account."""
    waba = _waba(waba_id)

    async def work(c: Container) -> tuple[int, str]:
        return await c.business.create_token(waba, name)

    token_id, token = with_container(work)
    if as_json:
        typer.echo(json.dumps({"token_id": str(token_id), "access_token": token, "waba_id": str(waba)}))
    else:
        console.print(f"token {token_id}: {token}")


@token_app.command("revoke")
def token_revoke(token: Annotated[str, typer.Argument(help="The token, or its id.")]) -> None:
    """Revoke a token: every request with it fails from now on, in every process."""

    async def work(c: Container) -> int:
        return await c.business.revoke_token(token)

    console.print(f"revoked token {with_container(work)}")


@token_app.command("list")
def token_list(waba_id: Annotated[str, typer.Argument(help="Business account id.")]) -> None:
    """List a business account's tokens (never the secrets: only their ids)."""
    waba = _waba(waba_id)

    async def work(c: Container) -> list[tuple[str, str, str]]:
        return [
            (str(t.id), t.name, "revoked" if t.revoked_at else "active") for t in await c.business.list_tokens(waba)
        ]

    table = Table(title=f"Tokens of {waba}")
    for column in ("id", "name", "state"):
        table.add_column(column)
    for row in with_container(work):
        table.add_row(*row)
    console.print(table)
