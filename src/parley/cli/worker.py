"""`parley worker`: webhook delivery and the periodic sweeps in a process of their own (PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import signal

import typer
from rich.console import Console
from sqlalchemy.engine import make_url

from parley.config import Settings
from parley.container import build_container

console = Console(stderr=True)
log = logging.getLogger("parley.worker")

SQLITE_REFUSAL = (
    "parley worker needs PostgreSQL (PARLEY_DATABASE_URL=postgresql+asyncpg://...): on SQLite one process holds "
    "the database's writer, so `parley serve` delivers webhooks and runs the sweeps itself."
)


def worker() -> None:
    """Deliver webhooks and run the periodic sweeps, in this process, until SIGTERM or Ctrl-C.

    On PostgreSQL, run `parley serve` with PARLEY_WORKER__IN_SERVER=false (or `parley serve --no-worker`) so the
    serving processes only take requests, and one or more `parley worker` beside them with the same settings.
    Workers share the outbox safely: each claims due events with FOR UPDATE SKIP LOCKED and leases them, and a
    worker that dies leaves its events to the others once their leases run out (delivered at least once).
    The sweeps: business quality and limits, unsent media expiry, template review, the inbox's away and greeting
    messages. With Redis (PARLEY_REDIS_URL) a server wakes the workers over the bus as soon as it commits new
    events; polling (PARLEY_WEBHOOKS__POLL_INTERVAL_MS, 50 ms by default) stays the fallback.

    On SQLite this command refuses to start: the server delivers.
    """
    settings = Settings()
    if make_url(settings.resolved_database_url).get_backend_name() == "sqlite":
        console.print(f"[bold red]Refusing to start:[/bold red] {SQLITE_REFUSAL}")
        raise typer.Exit(2)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings.model_copy(update={"webhooks": settings.webhooks.model_copy(update={"deliver": True})})
    asyncio.run(_run(settings))


async def _run(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    container = build_container(settings, background=True)
    await container.start()
    log.info("parley worker started: delivering webhooks and running the sweeps")
    console.print("parley worker: delivering webhooks and running the periodic sweeps (Ctrl-C stops)")
    try:
        await stop.wait()
    finally:
        await container.close()  # in-flight deliveries are recorded, held events handed back at once
    console.print("parley worker: stopped")
