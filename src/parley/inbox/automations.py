"""Away and greeting messages: planned inside the unit that stores a person's message, sent after it commits.

A plan is a row (`inbox_automations`), not a task, so a crash between the plan and the send loses nothing; the
send uses the row's id as its idempotency key, so a retry after a crash never sends twice. The messages go out
through the Cloud API send path (window, limits, billing, webhooks) like any reply, answering the person's
message inside the window it opened; they never answer the business's own messages, so they cannot loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from parley import business
from parley.graph import GraphError
from parley.inbox import hours as weekly
from parley.inbox import repository as repo
from parley.inbox.inputs import fill_variables
from parley.kit.clock import Clock
from parley.kit.errors import IdempotencyKeyReusedError
from parley.kit.ids import IdGenerator
from parley.platform.db import Database

if TYPE_CHECKING:
    from parley.inbox.ports import BusinessPort

log = logging.getLogger("parley.inbox")


class Automations:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        business_service: BusinessPort,
        publish: Callable[[int, dict[str, Any]], Awaitable[None]],
        poll_s: float,
    ) -> None:
        self._db, self._clock, self._ids = db, clock, ids
        self._business = business_service
        self._publish = publish
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()  # SQLite units run on a writer thread; they wake us through it
        if self._poll_s > 0:
            self._worker = asyncio.create_task(self._forever())

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    def plan_in(
        self,
        conn: Connection,
        waba_id: int,
        thread: repo.ThreadRow,
        message: business.ConversationMessage,
        greet: bool,
    ) -> None:
        """Inside the unit storing a person's message: a greeting (new or silent contact), an away message
        (closed, and none sent since the business last opened)."""
        settings = repo.get_settings(conn, waba_id)
        if settings is None:
            return
        now = message.at
        planned = False
        if greet and settings.greeting_enabled and settings.greeting_text:
            self._plan(conn, thread, "greeting", message.message_id, now)
            planned = True
        if settings.away_enabled and settings.away_text:
            hours = weekly.parse_hours(json.loads(settings.hours))
            timezone = self._business.timezone_in(conn, waba_id)
            closed = not weekly.is_open(hours, timezone, now)
            first_of_closure = thread.away_sent_at is None or weekly.opened_between(
                hours, timezone, thread.away_sent_at, now
            )
            if closed and first_of_closure:
                self._plan(conn, thread, "away", message.message_id, now)
                repo.update_thread(conn, thread.conversation_id, away_sent_at=now)
                planned = True
        if planned and self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _plan(self, conn: Connection, thread: repo.ThreadRow, kind: str, trigger: int, now: int) -> None:
        repo.insert_automation(
            conn,
            repo.AutomationRow(self._ids.next_id(), thread.conversation_id, kind, trigger, now, None, None),
        )

    async def _forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)
            self._wake.clear()
            await asyncio.sleep(0.02)  # the unit that planned them commits first
            try:
                await self.run_now()
            except Exception:  # retried at the next poll
                log.exception("inbox automations failed")

    async def run_now(self) -> int:
        """Send the away and greeting messages planned so far; each goes out once even across crashes."""
        sent = 0
        for automation in await self._db.read(lambda c: repo.due_automations(c, 100)):
            outcome = await self.send(automation)
            await self._db.write(
                "inbox.run_now", functools.partial(_finish, automation.id, self._clock.now_ms(), outcome)
            )
            sent += outcome == "sent"
        return sent

    async def send(self, automation: repo.AutomationRow) -> str:
        """Send one planned message (again, after a crash: the same send); what happened, in a few words."""

        def unit(conn: Connection) -> tuple[repo.ThreadRow | None, repo.SettingsRow | None, repo.ContactRow | None]:
            thread = repo.get_thread(conn, automation.conversation_id)
            if thread is None:
                return None, None, None
            return (
                thread,
                repo.get_settings(conn, thread.waba_id),
                repo.contact_of_person(conn, thread.waba_id, thread.person_id),
            )

        thread, settings, contact = await self._db.read(unit)
        if thread is None or settings is None or contact is None:
            return "skipped: conversation gone"
        info = await self._business.inbox_business(thread.waba_id)
        template = settings.greeting_text if automation.kind == "greeting" else settings.away_text
        cloud = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": contact.phone,
            "type": "text",
            "text": {"body": fill_variables(template, contact, "", info.name)},
        }
        scope = await self._business.scope_of(thread.waba_id)
        try:
            await self._business.send(
                scope,
                str(thread.phone_number_id),
                cloud,
                f"inbox-automation:{automation.id}",
                sent_by=business.SentBy("automation"),
            )
        except GraphError as exc:
            return f"not sent: {exc.details}"
        except IdempotencyKeyReusedError:
            # Sent before a restart, and the text was edited since: that first message is the one that went out.
            return "sent"
        await self._publish(thread.waba_id, {"type": "conversation", "id": str(thread.conversation_id)})
        return "sent"


def _finish(automation_id: int, now: int, outcome: str, conn: Connection) -> bool:
    return repo.finish_automation(conn, automation_id, now, outcome)
