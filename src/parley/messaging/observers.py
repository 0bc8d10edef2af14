"""Hooks other domains hang on messaging's write units (the business API hears about people's messages).

Observers run INSIDE the unit, so what they write (a webhook in the outbox, a window opened) commits or rolls
back with the message itself. They must be cheap: they run on every send and every receipt.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection

from parley.messaging.content import MessageContent
from parley.messaging.repository import MessageRow


class MessageObserver(Protocol):
    def on_message(
        self,
        conn: Connection,
        row: MessageRow,
        content: MessageContent,
        statuses: dict[int, int],
        referral_clid: str | None,
    ) -> dict[int, int]:
        """A message is being stored; return receipt statuses to override for some recipients."""
        ...

    def on_receipts(self, conn: Connection, reader_id: int, message_ids: list[int], status: int, now: int) -> None:
        """`reader_id` now has these messages at `status` (DELIVERED or READ); only forward moves are passed."""
        ...

    def on_reaction(self, conn: Connection, user_id: int, row: MessageRow, emoji: str, now: int) -> None:
        """`user_id` reacted to `row` (an empty emoji removes the reaction)."""
        ...
