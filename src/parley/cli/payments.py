"""`parley payments …`: the operator's side of Parley Pay: payouts, disputes, reconciliation, merchant statements."""

from __future__ import annotations

import datetime
import json
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from parley import payments
from parley.cli.common import with_container
from parley.container import Container
from parley.kit.money import format_amount, parse_amount

payments_app = typer.Typer(help="Parley Pay: payouts, disputes, reconciliation, statements.", no_args_is_help=True)
payouts_app = typer.Typer(help="Payouts of merchants' payables to their banks.", no_args_is_help=True)
dispute_app = typer.Typer(help="Card-network disputes (chargebacks).", no_args_is_help=True)
payments_app.add_typer(payouts_app, name="payouts")
payments_app.add_typer(dispute_app, name="dispute")
console = Console()
# Progress goes to stderr, so `--json` output on stdout stays one JSON document.
progress_console = Console(stderr=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _payout_json(p: payments.PayoutRow) -> dict[str, object]:
    return {
        "id": str(p.id),
        "waba_id": str(p.waba_id),
        "currency": p.currency,
        "period": p.period,
        "amount": format_amount(p.amount),
        "status": p.status,
        "bank_reference": p.bank_reference,
        "failure_reason": p.failure_reason,
    }


def _dispute_json(d: payments.DisputeRow) -> dict[str, object]:
    return {
        "id": str(d.id),
        "waba_id": str(d.waba_id),
        "currency": d.currency,
        "amount": format_amount(d.amount),
        "status": d.status,
        "reference_id": d.reference_id,
        "provider_payment_id": d.provider_payment_id,
        "reason": d.reason,
    }


def _payout_table(title: str, rows: list[payments.PayoutRow]) -> Table:
    table = Table(title=title)
    for column in ("payout", "business", "period", "amount", "status", "bank reference / reason"):
        table.add_column(column, justify="right" if column == "amount" else "left", overflow="fold")
    for p in rows:
        table.add_row(
            str(p.id),
            str(p.waba_id),
            p.period,
            f"{format_amount(p.amount)} {p.currency}",
            p.status,
            p.bank_reference or p.failure_reason or "",
        )
    return table


@payouts_app.command("run")
def payouts_run(as_json: JsonOption = False) -> None:
    """Pay every merchant its matured payable now (what the daily schedule does); exit 1 if a bank refused one."""

    async def work(c: Container) -> payments.PayoutRun:
        with Progress(
            TextColumn("paying out"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=progress_console,
            transient=as_json,
        ) as progress:
            task = progress.add_task("payables", total=None)
            return await c.payouts.run_due(lambda done, total: progress.update(task, completed=done, total=total))

    run = with_container(work)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "period": run.period,
                    "payables": run.accounts,
                    "paid": [_payout_json(p) for p in run.paid],
                    "failed": [_payout_json(p) for p in run.failed],
                    "pending": [_payout_json(p) for p in run.pending],
                    "below_minimum": run.below_minimum,
                    "already_paid": run.already_paid,
                }
            )
        )
    else:
        console.print(_payout_table(f"Payouts of {run.period} (UTC)", run.paid + run.failed + run.pending))
        console.print(
            f"{run.accounts} payables: {len(run.paid)} paid, {len(run.failed)} refused by the bank, "
            f"{len(run.pending)} waiting for the bank, {run.already_paid} already paid today, "
            f"{run.below_minimum} with nothing matured above the minimum"
        )
    if run.failed:
        raise typer.Exit(code=1)


@payouts_app.command("list")
def payouts_list(
    waba_id: Annotated[int, typer.Argument(help="The business account (WABA) id.")],
    as_json: JsonOption = False,
) -> None:
    """A business's payables (balance, what can be paid out now, what is still held) and its recent payouts."""

    async def work(c: Container) -> tuple[list[payments.PayableView], list[payments.PayoutRow]]:
        return await c.payouts.payables(waba_id), await c.payouts.payouts_of(waba_id)

    views, rows = with_container(work)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "payables": [
                        {
                            "currency": v.currency,
                            "balance": format_amount(v.balance),
                            "available": format_amount(v.available),
                            "held": format_amount(v.held),
                        }
                        for v in views
                    ],
                    "payouts": [_payout_json(p) for p in rows],
                }
            )
        )
        return
    table = Table(title=f"Payables of business {waba_id}")
    for column in ("currency", "balance", "payable now", "held"):
        table.add_column(column, justify="left" if column == "currency" else "right")
    for v in views:
        table.add_row(v.currency, format_amount(v.balance), format_amount(v.available), format_amount(v.held))
    console.print(table)
    console.print(_payout_table("Recent payouts", rows))


def _amount(raw: str) -> int:
    try:
        return parse_amount(raw)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error


@dispute_app.command("open")
def dispute_open(
    payment: Annotated[str, typer.Argument(help="The order's reference id, Parley's payment id or the provider's.")],
    amount: Annotated[str, typer.Option(help="The disputed amount in the payment's currency, e.g. 25.50.")],
    reason: Annotated[str | None, typer.Option(help="The network's reason, e.g. fraudulent.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Open a chargeback: the amount leaves the merchant's payable now (the fee is not returned)."""
    micros = _amount(amount)

    async def work(c: Container) -> payments.DisputeRow:
        return await c.disputes.open(payment, micros, reason)

    _print_dispute(with_container(work), as_json)


def _resolve(dispute_id: int, outcome: Literal["won", "lost"], as_json: bool) -> None:
    async def work(c: Container) -> payments.DisputeRow:
        return await c.disputes.resolve(dispute_id, outcome)

    _print_dispute(with_container(work), as_json)


@dispute_app.command("won")
def dispute_won(
    dispute_id: Annotated[int, typer.Argument(help="The dispute's id.")], as_json: JsonOption = False
) -> None:
    """The merchant won: the clawed-back amount returns to its payable."""
    _resolve(dispute_id, "won", as_json)


@dispute_app.command("lost")
def dispute_lost(
    dispute_id: Annotated[int, typer.Argument(help="The dispute's id.")], as_json: JsonOption = False
) -> None:
    """The merchant lost: nothing more moves (the amount was taken when the dispute opened)."""
    _resolve(dispute_id, "lost", as_json)


@dispute_app.command("list")
def dispute_list(
    waba_id: Annotated[int | None, typer.Option("--waba", help="Only this business's disputes.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The most recent disputes, newest first."""

    async def work(c: Container) -> list[payments.DisputeRow]:
        return await c.disputes.list(waba_id)

    rows = with_container(work)
    if as_json:
        typer.echo(json.dumps({"data": [_dispute_json(d) for d in rows]}))
        return
    table = Table(title="Disputes")
    for column in ("dispute", "business", "reference", "amount", "status", "reason"):
        table.add_column(column, justify="right" if column == "amount" else "left", overflow="fold")
    for d in rows:
        table.add_row(
            str(d.id),
            str(d.waba_id),
            d.reference_id or "",
            f"{format_amount(d.amount)} {d.currency}",
            d.status,
            d.reason or "",
        )
    console.print(table)


def _print_dispute(d: payments.DisputeRow, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(_dispute_json(d)))
    else:
        console.print(
            f"dispute {d.id} of business {d.waba_id}: {format_amount(d.amount)} {d.currency}, {d.status}"
            + (f" (order {d.reference_id})" if d.reference_id else "")
        )


def _day(raw: str, option: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError as error:
        raise typer.BadParameter(f"{option} {raw!r} is not a date written YYYY-MM-DD") from error


@payments_app.command("reconcile")
def reconcile(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC).")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC), included.")],
    as_json: JsonOption = False,
) -> None:
    """Match the provider's payments to the ledger; list every mismatch; exit 1 when there is any."""
    first, last = _day(start, "--from"), _day(end, "--to")
    if last < first:
        raise typer.BadParameter(f"--to {end} is before --from {start}")

    async def work(c: Container) -> payments.ReconcileReport:
        return await payments.reconcile(c.db, c.ledger.journal, first, last)

    report = with_container(work)
    if as_json:
        typer.echo(json.dumps(report.as_json()))
    else:
        table = Table(title=f"Reconciliation {first} to {last} (UTC)")
        for column in ("kind", "provider payment", "reference", "provider", "ledger", "transfers", "detail"):
            table.add_column(column, overflow="fold", justify="right" if column in ("provider", "ledger") else "left")
        for m in report.mismatches:
            table.add_row(
                f"[bold red]{m.kind}[/bold red]",
                m.provider_payment_id or "",
                m.reference_id or "",
                "" if m.provider_amount is None else f"{format_amount(m.provider_amount)} {m.currency}",
                "" if m.ledger_amount is None else f"{format_amount(m.ledger_amount)} {m.currency}",
                "\n".join(m.transfers),
                m.detail,
            )
        console.print(table)
        summary = (
            f"{report.provider_payments} provider payments, {report.ledger_transfers} ledger transfers, "
            f"{report.matched} matched"
        )
        verdict = "[green]the books agree[/green]" if report.ok else f"[bold red]{len(report.mismatches)} mismatches"
        console.print(f"{summary}: {verdict}")
    if not report.ok:
        raise typer.Exit(code=1)


@payments_app.command("settle")
def settle(as_json: JsonOption = False) -> None:
    """Settle now what the sweeps settle: orders left `processing` (the server died while a card was charged) and
    wallet top-ups and withdrawals the provider left unanswered, from the provider's answers."""

    async def work(c: Container) -> tuple[int, int]:
        return await c.merchant_payments.settle_stuck(), await c.wallets.settle_pending()

    orders, funding = with_container(work)
    if as_json:
        typer.echo(json.dumps({"orders": orders, "wallet_funding": funding}))
    else:
        console.print(f"{orders} orders and {funding} wallet top-ups or withdrawals settled")


@payments_app.command("statement")
def statement(
    waba_id: Annotated[int, typer.Option("--waba", help="The business account (WABA) id.")],
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (UTC).")],
    currency: Annotated[str | None, typer.Option(help="Only this currency (default: each the business has).")] = None,
    as_json: JsonOption = False,
) -> None:
    """A merchant's Parley Pay statement for a month: opening payable, captures, fees, refunds, disputes,
    payouts, closing payable."""

    async def work(c: Container) -> list[payments.MerchantStatement]:
        await c.business.require_waba(waba_id)
        currencies = [currency] if currency else await payments.payable_currencies(c.db, c.ledger.journal, waba_id)
        return [await payments.merchant_statement(c.db, c.ledger.journal, waba_id, month, cur) for cur in currencies]

    found = with_container(work)
    if as_json:
        typer.echo(json.dumps({"data": [s.as_json() for s in found]}))
        return
    if not found:
        console.print(f"business {waba_id} has no Parley Pay payable yet")
    for s in found:
        table = Table(title=f"Parley Pay statement of business {waba_id}, {month} (UTC), {s.currency}")
        table.add_column("line")
        table.add_column("amount", justify="right")
        for _key, label, amount in s.lines():
            table.add_row(label, format_amount(amount))
        console.print(table)
        if s.closing < 0:
            console.print(f"the business owes {format_amount(-s.closing)} {s.currency}")
