"""`parley subscriptions …`: one pass of the renewal sweep, and the operator's refund of a subscription."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from parley.cli.common import with_container
from parley.container import Container

subscriptions_app = typer.Typer(help="Channel subscriptions and paid groups.", no_args_is_help=True)
console = Console()


@subscriptions_app.command("renew")
def renew(as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False) -> None:
    """Run one pass of the renewal sweep now: charges due on anniversaries, retries in grace, ends."""

    async def work(c: Container) -> int:
        return await c.subscriptions.renew_due()

    handled = with_container(work)
    if as_json:
        typer.echo(json.dumps({"handled": handled}))
    else:
        console.print(f"{handled} subscriptions renewed, retried or ended")


@subscriptions_app.command("refund")
def refund(
    subscription_id: str,
    full: Annotated[bool, typer.Option("--full", help="Refund the whole last charge, not the unused days.")] = False,
) -> None:
    """End a subscription with a refund of its last charge (pro rata by default); the cut goes back too."""

    async def work(c: Container) -> str:
        view = await c.subscriptions.refund(None, subscription_id, prorated=not full)
        back = [x for x in view.charges if x.kind == "refund"]
        return "nothing (the period was used up)" if not back else f"{back[-1].amount / 1e6:.2f} {back[-1].currency}"

    console.print(f"subscription {subscription_id} ended; refunded {with_container(work)}")
