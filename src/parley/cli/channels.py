"""`parley channels`: the operator's verified mark on a channel, and a look at channels."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from parley.cli.common import with_container
from parley.container import Container

channels_app = typer.Typer(help="Channels: verified marks and the directory.", no_args_is_help=True)
console = Console()


@channels_app.command("verify")
def verify(
    channel_id: Annotated[str, typer.Argument(help="The channel's id")],
    remove: Annotated[bool, typer.Option("--remove", help="Take the verified mark away.")] = False,
) -> None:
    """Give a channel the verified mark shown in the directory (or take it away with --remove)."""

    async def work(c: Container) -> dict[str, Any]:
        return await c.channels.verify(channel_id, not remove)

    result = with_container(work)
    state = "verified" if result["verified"] else "no longer verified"
    console.print(f"channel {result['id']} ({result['name']!r}) is {state}", markup=False)


@channels_app.command("list")
def list_channels(
    query: Annotated[str, typer.Option("--q", help="Part of the name")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """The directory's most followed channels (those listed in it)."""

    async def work(c: Container) -> dict[str, Any]:
        return await c.channels.directory(query or None, None, None, "popular", 50, 0)

    page = with_container(work)
    if as_json:
        typer.echo(json.dumps(page["channels"]))
        return
    table = Table(title="Channels (most followed first)")
    table.add_column("id", no_wrap=True)
    for column in ("name", "category", "country", "followers", "verified"):
        table.add_column(column)
    for ch in page["channels"]:
        table.add_row(
            ch["id"],
            ch["name"],
            ch["category"],
            ch["country"],
            str(ch["follower_count"]),
            "✓" if ch["verified"] else "",
        )
    console.print(table)
