"""Export everything held about a person, and erase their account.

Erasure runs as one write unit over every domain (through each domain's public surface), so it is never
half-applied: a failure or a crash before the commit leaves the account as it was. After the commit, caches are
told (tokens, number, name), peers hear their 1:1 messages deleted, and uploaded files are deleted, then their
rows; a crash between the commit and the end leaves only unreachable files behind, and running the erasure again
(it is idempotent) finishes them.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from sqlalchemy import Connection

from parley import (
    accounts,
    ads,
    affiliates,
    channels,
    commerce,
    e2ee,
    inbox,
    ledger,
    media,
    messaging,
    payments,
    privacy,
    signals,
    subscriptions,
    webhooks,
)
from parley.kit.clock import Clock
from parley.kit.errors import NotFoundError
from parley.kit.money import format_amount
from parley.kit.rows import Rows
from parley.platform.db import Database
from parley.rights.archive import Progress, Upload, write_archive
from parley.rights.errors import NotErasableError, WalletNotEmptyError, WrongConfirmationError


@dataclass(frozen=True)
class ExportSummary:
    user_id: int
    files: int  # JSON files
    media: int  # uploads in media/


@dataclass(frozen=True)
class ErasureSummary:
    user_id: int
    messages_deleted: int  # 1:1 messages removed for everyone
    groups_left: int
    media_deleted: int


class RightsService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        accounts_service: accounts.AccountService,
        messaging_service: messaging.MessagingService,
        media_service: media.MediaService,
        e2ee_service: e2ee.E2EEService,
        ad_viewers: ads.ViewerIds,
        forget_pending: Callable[[int], None] = lambda user_id: None,
    ) -> None:
        self._db, self._clock = db, clock
        self._accounts, self._messaging, self._media = accounts_service, messaging_service, media_service
        self._e2ee, self._ad_viewers = e2ee_service, ad_viewers
        # What this process gathered of a person and has not written yet (the signal recorder's counters).
        self._forget_pending = forget_pending

    # --- export ----------------------------------------------------------------------------------

    async def export(self, user_id: int, out: IO[bytes], progress: Progress | None = None) -> ExportSummary:
        """Write the person's archive to `out` (a zip). The data is read in one snapshot, the files after it."""
        viewer = self._ad_viewers.of_person(user_id)

        def unit(conn: Connection) -> tuple[dict[str, dict[str, Rows]], list[media.MediaRow]]:
            found = accounts.personal_data_in(conn, user_id)
            if not found["account"] or found["account"][0]["erased_at"] is not None:
                raise NotFoundError("no such account")
            parts = {
                "account": found,
                "messaging": messaging.personal_data_in(conn, user_id),
                "media": media.personal_data_in(conn, user_id),
                "privacy": privacy.personal_data_in(conn, user_id),
                "signals": signals.personal_data_in(conn, user_id),
                "e2ee": e2ee.personal_data_in(conn, user_id),
                "ledger": ledger.personal_data_in(conn, user_id),
                "payments": payments.personal_data_in(conn, user_id),
                "commerce": commerce.personal_data_in(conn, user_id),
                "channels": channels.personal_data_in(conn, user_id),
                "subscriptions": subscriptions.personal_data_in(conn, user_id),
                "affiliates": affiliates.personal_data_in(conn, user_id),
                "ads": ads.personal_data_in(conn, viewer),
            }
            return parts, media.media_of_in(conn, user_id)

        parts, rows = await self._db.read(unit)
        uploads = [Upload(r.id, r.filename, self._media.file_of(r)) for r in rows]
        exported_at = datetime.datetime.fromtimestamp(self._clock.now_ms() / 1000, datetime.UTC)
        stamp = exported_at.strftime("%Y-%m-%d %H:%M:%S")
        written = await asyncio.to_thread(write_archive, out, user_id, stamp, parts, uploads, progress)
        return ExportSummary(user_id, len(parts), written)

    # --- erasure ---------------------------------------------------------------------------------

    async def check_erasable(self, user_id: int) -> None:
        """Refuse early (before a code is spent) what the erasure itself would refuse."""
        await self._db.read(lambda conn: _require_erasable_in(conn, user_id))

    async def erase_confirmed(self, user_id: int, phone: str, code: str) -> ErasureSummary:
        """The person's own erasure: `phone` must be their number and `code` the one-time code just sent to it."""
        user = await self._accounts.get_user(user_id)
        if _digits(phone) != _digits(user.phone):
            raise WrongConfirmationError("type the number of this account to confirm")
        await self.check_erasable(user_id)
        await self._accounts.confirm_code(user.phone, code)
        return await self.erase(user_id)

    async def erase(self, user_id: int) -> ErasureSummary:
        """Erase the account (the operator's path, and the end of the person's). Idempotent: an erased account is
        left as it is, and anything a crash left undone (uploaded files) is finished."""
        now = self._clock.now_ms()
        viewer = self._ad_viewers.of_person(user_id)

        def unit(conn: Connection) -> tuple[accounts.ErasedAccount, list[messaging.Committed], list[media.MediaRow]]:
            _require_erasable_in(conn, user_id)
            erased = accounts.erase_account_in(conn, user_id, now)
            pseudonym = accounts.pseudonym_phone(user_id)
            committed = self._messaging.erase_person_in(conn, user_id, now)
            media.unshare_all_in(conn, user_id)
            privacy.erase_person_in(conn, user_id)
            signals.erase_person_in(conn, user_id)
            self._e2ee.forget_devices_in(conn, user_id, erased.device_ids, now)
            channels.erase_person_in(conn, user_id, now)
            payments.erase_person_in(conn, user_id, pseudonym)
            inbox.erase_person_in(conn, user_id, pseudonym, accounts.ERASED_NAME)
            webhooks.erase_person_in(conn, erased.phone, erased.name, pseudonym)
            commerce.erase_person_in(conn, user_id)
            subscriptions.erase_person_in(conn, user_id, now)
            affiliates.erase_person_in(conn, user_id, now)
            ads.erase_person_in(conn, viewer)
            return erased, committed, media.media_of_in(conn, user_id)

        erased, committed, uploads = await self._db.write("rights.erase", unit)
        await self._accounts.forget_erased(erased)
        self._forget_pending(user_id)  # this process's unwritten signal counters (others skip erased people)
        for change in committed:
            await self._messaging.publish_committed(change)
        for row in uploads:
            self._media.remove_file(row)
        ids = [row.id for row in uploads]
        if ids:
            await self._db.write("rights.erase_media", lambda conn: media.delete_media_rows_in(conn, ids))
        deleted = sum(1 for c in committed if c.fanout.message is not None)
        return ErasureSummary(user_id, deleted, len(committed) - deleted, len(uploads))


def _require_erasable_in(conn: Connection, user_id: int) -> None:
    user = accounts.get_users(conn, [user_id]).get(user_id)
    if user is None:
        raise NotFoundError("no such account")
    if user.kind != "person":
        raise NotErasableError("a business number is closed by its business, not erased as a person")
    owed = [b for b in ledger.person_balances_in(conn, user_id) if b.posted or b.pending]
    if owed:
        held = ", ".join(f"{format_amount(b.posted)} {b.currency}" for b in owed)
        raise WalletNotEmptyError(
            f"your wallet still holds {held}: withdraw it (or wait for pending payments to settle) before erasing "
            "your account, so no money is left without an owner"
        )


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())
