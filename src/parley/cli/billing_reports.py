"""`parley billing revenue` and `parley billing statement`: the operator's revenue report and a business's
monthly statement. `register(billing_app)` adds them to the `billing` command group."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from parley.billing.report import RevenueReport, revenue_report
from parley.billing.statements import FINAL, Statement, StatementBook, render_csv, render_html
from parley.cli.common import with_container
from parley.container import Container
from parley.graph import GraphScope
from parley.kit.money import format_amount

console = Console()
FORMATS = ("json", "csv", "html")


def register(app: typer.Typer) -> None:
    """Add `revenue` and `statement` to the given Typer app (the `billing` group)."""
    app.command("revenue")(revenue)
    app.command("statement")(statement)


def _day(raw: str, option: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError as error:
        raise typer.BadParameter(f"{option} {raw!r} is not a date written YYYY-MM-DD") from error


def revenue(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC).")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC), included.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Platform revenue over a date range: by lever (from the ledger) and by market (business messaging)."""
    first, last = _day(start, "--from"), _day(end, "--to")
    if last < first:
        raise typer.BadParameter(f"--to {end} is before --from {start}")

    async def work(c: Container) -> RevenueReport:
        return await revenue_report(c.db, c.billing.journal, first, last)

    report = with_container(work)
    if as_json:
        typer.echo(json.dumps(report.as_json()))
        return
    levers = Table(title=f"Revenue by lever, {first} to {last} (UTC)")
    for column in ("lever", "currency", "postings", "revenue"):
        levers.add_column(column, justify="right" if column in ("postings", "revenue") else "left")
    for lever in report.levers:
        levers.add_row(lever.lever, lever.currency, str(lever.postings), format_amount(lever.revenue))
    for currency, amount in sorted(report.totals().items()):
        levers.add_row("[bold]total[/bold]", currency, "", f"[bold]{format_amount(amount)}[/bold]")
    console.print(levers)
    markets = Table(title="Business messaging by market")
    for column in ("market", "model", "currency", "messages", "revenue"):
        markets.add_column(column, justify="right" if column in ("messages", "revenue") else "left")
    for market in report.markets:
        markets.add_row(
            market.market, market.pricing_model, market.currency, str(market.messages), format_amount(market.revenue)
        )
    console.print(markets)
    for currency, amount in sorted(report.unattributed().items()):
        if amount:
            console.print(f"{format_amount(amount)} {currency} of messaging revenue is not from a message charge")


def statement(
    waba_id: Annotated[int, typer.Argument(help="The business account (WABA) id.")],
    month: Annotated[str, typer.Option(help="The month, YYYY-MM, in the business's time zone.")],
    output_format: Annotated[str, typer.Option("--format", help="json, csv or html.")] = "json",
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of the terminal.")] = None,
) -> None:
    """A business's statement for a month (a draft while the month is open)."""
    if output_format not in FORMATS:
        raise typer.BadParameter(f"--format is one of {', '.join(FORMATS)}")

    async def work(c: Container) -> Statement | None:
        await c.business.require_waba(waba_id)
        waba = await c.business.waba_object(GraphScope(waba_id, 0, 0), waba_id)
        name = "" if waba is None else str(waba["name"])
        return await StatementBook(c.db, c.billing.journal, c.clock).statement(waba_id, month, name)

    found = with_container(work)
    if found is None:
        console.print(f"[red]error:[/red] business {waba_id} has no statement for {month}")
        raise typer.Exit(code=2)
    if output_format == "csv":
        text = render_csv(found.document)
    elif output_format == "html":
        text = render_html(found.document, found.invoice_number)
    else:
        text = found.text
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    output.write_text(text, encoding="utf-8", newline="")
    state = "final" if found.status == FINAL else "draft (the month is still open)"
    Console(stderr=True).print(f"statement {month} of business {waba_id}, {state}, written to {output}")
