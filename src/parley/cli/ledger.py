"""`parley ledger verify`: recompute every balance from the journal and check the ledger's guarantees."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from parley.cli.common import with_container
from parley.container import Container
from parley.ledger import VerifyReport

ledger_app = typer.Typer(help="The double-entry ledger: verification.", no_args_is_help=True)
console = Console()
# Progress goes to stderr, so `--json` output on stdout stays one JSON document.
progress_console = Console(stderr=True)


@ledger_app.command("verify")
def verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Check every guarantee of the ledger; exit status 0 only when all of them hold."""

    async def work(c: Container) -> VerifyReport:
        total = await c.ledger.count_transfers()
        with Progress(
            TextColumn("verifying the journal"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=progress_console,
            transient=as_json,
        ) as progress:
            task = progress.add_task("transfers", total=total)
            # Called from the thread that reads the journal; rich's Progress is thread-safe.
            report = await c.ledger.verify(lambda done: progress.advance(task, done))
            # Transfers committed after the count was taken are verified too.
            progress.update(task, total=max(total, report.transfers), completed=report.transfers)
        return report

    report = with_container(work)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "transfers": report.transfers,
                    "accounts": report.accounts,
                    "checks": [{"name": c.name, "ok": c.ok, "problems": c.problems} for c in report.checks],
                }
            )
        )
    else:
        table = Table(title=f"Ledger: {report.transfers} transfers, {report.accounts} accounts")
        table.add_column("check")
        table.add_column("result")
        table.add_column("problems", overflow="fold")
        for check in report.checks:
            result = "[green]ok[/green]" if check.ok else "[bold red]FAILED[/bold red]"
            table.add_row(check.name, result, "\n".join(check.problems))
        console.print(table)
        verdict = "[green]every check passed[/green]" if report.ok else "[bold red]the ledger is not sound[/bold red]"
        console.print(verdict)
    if not report.ok:
        raise typer.Exit(code=1)
