"""`parley webhooks ...`: a business's delivery log, and sending failed or past updates again."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from parley.cli.common import with_container
from parley.container import Container
from parley.webhooks import DeliveryLogEntry

webhooks_app = typer.Typer(help="Webhook delivery: the log, and redelivery.", no_args_is_help=True)
console = Console()


def _when(ms: int | None) -> str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _parse_since(raw: str) -> int:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as error:
        raise typer.BadParameter(f"{raw!r} is not an ISO 8601 date or time (e.g. 2026-11-22T10:00)") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@webhooks_app.command("log")
def log(
    waba_id: Annotated[int, typer.Argument(help="The business account (WABA) id.")],
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many recent events.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """The most recent webhook events of a business and how their delivery went (newest first)."""

    async def work(c: Container) -> list[DeliveryLogEntry]:
        return await c.webhooks.delivery_log(waba_id, limit)

    entries = with_container(work)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "event_id": str(e.event_id),
                        "field": e.field,
                        "state": e.state,
                        "attempts": e.attempts,
                        "last_status": e.last_status,
                        "last_error": e.last_error,
                        "latency_ms": e.latency_ms,
                        "url": e.url,
                        "created_at": e.created_at,
                        "delivered_at": e.delivered_at,
                        "next_attempt_at": e.next_attempt_at,
                    }
                    for e in entries
                ]
            )
        )
        return
    table = Table(title=f"Webhook deliveries of business {waba_id}")
    for column in ("event", "field", "created", "attempts", "last status", "latency", "state"):
        table.add_column(column)
    for e in entries:
        status = str(e.last_status) if e.last_status is not None else (e.last_error or "")
        if e.last_status is not None and e.last_error and e.state != "delivered":
            status = f"{e.last_status} ({e.last_error})"
        state = (
            e.state
            if e.state != "pending" or e.next_attempt_at is None
            else f"pending (next {_when(e.next_attempt_at)})"
        )
        table.add_row(
            str(e.event_id),
            e.field,
            _when(e.created_at),
            str(e.attempts),
            status,
            "" if e.latency_ms is None else f"{e.latency_ms} ms",
            state,
        )
    console.print(table)


@webhooks_app.command("redeliver")
def redeliver(
    waba_id: Annotated[int, typer.Argument(help="The business account (WABA) id.")],
    event: Annotated[list[int] | None, typer.Option("--event", help="An event id (repeatable).")] = None,
    dead: Annotated[bool, typer.Option("--dead", help="Only events that were given up on.")] = False,
    since: Annotated[str | None, typer.Option(help="Only events created at or after this ISO time.")] = None,
    waiting: Annotated[
        bool, typer.Option("--waiting", help="Only events waiting for a retry: send them now (receiver fixed).")
    ] = False,
) -> None:
    """Send events again: the given ones, or every dead (--dead) or finished one (--since). Events of the
    business that wait for a retry and match are sent now too (--waiting: only those)."""
    if not event and not dead and since is None and not waiting:
        raise typer.BadParameter("say which events: --event ID, --dead, --since ISO or --waiting")
    since_ms = _parse_since(since) if since is not None else None

    async def work(c: Container) -> int:
        if waiting:
            return await c.webhooks.release_backlog(waba_id, event_ids=event or None, since_ms=since_ms)
        return await c.webhooks.redeliver(waba_id, event_ids=event or None, dead_only=dead, since_ms=since_ms)

    count = with_container(work)
    console.print(f"{count} event{'s' if count != 1 else ''} re-queued for delivery")
