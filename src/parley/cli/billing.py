"""`parley billing ...`: wallets, credit lines and rate cards, for the operator."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from parley.billing import Balance
from parley.cli.billing_reports import register as register_reports
from parley.cli.common import with_container
from parley.container import Container
from parley.kit.money import format_amount, parse_amount

billing_app = typer.Typer(
    help="Billing: prepaid wallets, credit lines, rate cards, statements, revenue.", no_args_is_help=True
)
register_reports(billing_app)  # statement, revenue
console = Console()


def _micros(raw: str, what: str) -> int:
    try:
        return parse_amount(raw)
    except ValueError as error:
        raise typer.BadParameter(f"{what} {raw!r}: {error}") from error


def _balance_json(balance: Balance) -> dict[str, str]:
    return {
        "currency": balance.currency,
        "balance": format_amount(balance.balance),
        "credit_line": format_amount(balance.credit_line),
        "held": format_amount(balance.held),
        "available": format_amount(balance.available),
    }


def _print_balance(waba_id: int, balance: Balance, as_json: bool) -> None:
    if as_json:
        view = _balance_json(balance)
        typer.echo(json.dumps({key: view[key] for key in ("currency", "balance", "credit_line")}))
        return
    table = Table(title=f"Business {waba_id}")
    for column in ("currency", "balance", "credit line", "held for undelivered", "available"):
        table.add_column(column, justify="right")
    view = _balance_json(balance)
    table.add_row(view["currency"], view["balance"], view["credit_line"], view["held"], view["available"])
    console.print(table)


@billing_app.command()
def topup(
    waba_id: Annotated[int, typer.Argument(help="The business account (WABA) id.")],
    amount: Annotated[str, typer.Argument(help="In currency units, e.g. 25.50.")],
    reference: Annotated[
        str | None, typer.Option(help="The payment's reference: the same reference never credits twice.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Credit a business's prepaid wallet with money it paid."""
    micros = _micros(amount, "amount")

    async def work(c: Container) -> Balance:
        await c.business.require_waba(waba_id)
        return await c.billing.topup(waba_id, micros, reference)

    _print_balance(waba_id, with_container(work), as_json)


@billing_app.command("credit-line")
def credit_line(
    waba_id: Annotated[int, typer.Argument(help="The business account (WABA) id.")],
    limit: Annotated[str, typer.Argument(help="How far below zero the wallet may go, e.g. 500 (0: prepaid only).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Let a business spend on credit (postpaid) up to a limit."""
    micros = _micros(limit, "limit")

    async def work(c: Container) -> Balance:
        await c.business.require_waba(waba_id)
        return await c.billing.set_credit_line(waba_id, micros)

    _print_balance(waba_id, with_container(work), as_json)


@billing_app.command()
def balance(
    waba_id: Annotated[int, typer.Argument(help="The business account (WABA) id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """A business's balance, credit line, reservations and what it can still spend."""

    async def work(c: Container) -> Balance:
        await c.business.require_waba(waba_id)
        return await c.billing.balance(waba_id)

    _print_balance(waba_id, with_container(work), as_json)


@billing_app.command("load-card")
def load_card(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Rate card CSV (the shipped card's columns).")
    ],
    price_list: Annotated[str, typer.Option(help="Name of the price list it belongs to.")] = "meta-usd",
    effective: Annotated[
        str | None, typer.Option(help="First day it applies (YYYY-MM-DD); default: the dates in the file.")
    ] = None,
    currency: Annotated[str | None, typer.Option(help="Currency, overriding the file's column.")] = None,
    model: Annotated[str | None, typer.Option(help="PMP or CBP, overriding the file's column.")] = None,
    markup: Annotated[str, typer.Option(help="Percentage added to every rate (a BSP's margin), e.g. 15.")] = "0",
) -> None:
    """Load a rate card: it prices deliveries from its effective date on."""
    day = None
    if effective is not None:
        try:
            day = datetime.date.fromisoformat(effective)
        except ValueError as error:
            raise typer.BadParameter(f"effective date {effective!r} is not YYYY-MM-DD") from error
    if model is not None and model.upper() not in ("PMP", "CBP"):
        raise typer.BadParameter("model is PMP (per message) or CBP (per conversation)")
    markup_micros = _micros(markup, "markup")
    if markup_micros % 10_000:
        raise typer.BadParameter("markup is a percentage with at most 2 decimals, e.g. 12.5")
    markup_bps = markup_micros // 10_000  # 1 % = 100 basis points
    text = path.read_text(encoding="utf-8")

    async def work(c: Container) -> None:
        cards = await c.billing.load_card(
            text,
            price_list=price_list,
            source=path.name,
            markup_bps=markup_bps,
            currency=currency.upper() if currency else None,
            pricing_model=model.upper() if model else None,
            effective=day,
        )
        table = Table(title=f"Loaded into price list {price_list}")
        for column in ("effective", "model", "currency", "markets", "markup"):
            table.add_column(column)
        for card in cards:
            table.add_row(
                card.effective.isoformat(),
                card.pricing_model,
                card.currency,
                str(len(card.rates)),
                f"{card.markup_bps / 100:g} %",
            )
        console.print(table)

    with_container(work)


@billing_app.command()
def cards(
    price_list: Annotated[str | None, typer.Option(help="Only this price list.")] = None,
) -> None:
    """Price lists and their cards (newest first), with each market's rates."""

    async def work(c: Container) -> None:
        for name, prices in sorted(c.billing.price_lists().items()):
            if price_list is not None and name != price_list:
                continue
            for card in sorted(prices.cards, key=lambda card: card.effective, reverse=True):
                table = Table(
                    title=f"{name} · {card.pricing_model} · {card.currency} · from {card.effective.isoformat()}"
                )
                for column in ("market", "marketing", "utility", "authentication", "auth. international"):
                    table.add_column(column, justify="right" if column != "market" else "left")
                for market, rate in sorted(card.rates.items()):
                    cells = [rate.micros.get(k) for k in ("marketing", "utility", "authentication")]
                    intl = rate.micros.get("authentication_international")
                    table.add_row(market, *("" if v is None else format_amount(v) for v in [*cells, intl]))
                console.print(table)

    with_container(work)


@billing_app.command()
def profile(
    waba_id: Annotated[int, typer.Argument(help="The business account (WABA) id.")],
    price_list: Annotated[str | None, typer.Option(help="Price list the business is billed on.")] = None,
    home_calling_code: Annotated[
        str | None, typer.Option(help="Calling code of its primary location, e.g. 91 (authentication-international).")
    ] = None,
    auth_international: Annotated[
        bool | None, typer.Option(help="Bill authentication-international rates where they apply.")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA time zone of its billing days and months, e.g. Asia/Kolkata.")
    ] = None,
) -> None:
    """Show or change how a business is billed."""

    async def work(c: Container) -> None:
        await c.business.require_waba(waba_id)
        found = await c.billing.set_billing_profile(
            waba_id,
            price_list=price_list,
            home_calling_code=home_calling_code,
            auth_international=auth_international,
            timezone=timezone,
        )
        typer.echo(json.dumps({k: v for k, v in found.__dict__.items() if k != "created_at"}))

    with_container(work)
