"""`parley affiliates …`: the operator's side of affiliate links: run the commission release sweep once."""

from __future__ import annotations

import typer
from rich.console import Console

from parley.cli.common import with_container
from parley.container import Container

affiliates_app = typer.Typer(help="Affiliate links: commissions and their release.", no_args_is_help=True)
console = Console()


@affiliates_app.command("release")
def release() -> None:
    """Pay the commissions whose refund window has closed (what the periodic sweep does), once."""

    async def work(c: Container) -> int:
        return await c.affiliate_commissions.release_due()

    paid = with_container(work)
    console.print(f"{paid} commission(s) paid")
