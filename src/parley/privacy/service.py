"""Blocks and reports."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection

from parley.accounts import AccountService, UserRow, get_users
from parley.kit.clock import Clock
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.kit.ids import IdGenerator
from parley.platform.db import Database
from parley.privacy import repository as repo

_CHOICES = {"group_add": repo.GROUP_ADD_CHOICES, "last_seen": repo.LAST_SEEN_CHOICES}


class MessageDirectory(Protocol):
    """What reports need to know about messages (messaging provides it; privacy does not import it)."""

    def messages_reportable(self, conn: Connection, reporter_id: int, sender_id: int, message_ids: list[int]) -> bool:
        """True when every id is a message from `sender_id` in a chat the reporter belongs to."""
        ...


class PrivacyObserver(Protocol):
    """Hears blocks and reports inside their unit (the business domain turns them into quality signals)."""

    def on_block(self, conn: Connection, blocker_id: int, blocked_id: int, now: int) -> None: ...

    def on_report(self, conn: Connection, reporter_id: int, reported_id: int, now: int) -> None: ...


class PrivacyService:
    def __init__(
        self, db: Database, clock: Clock, ids: IdGenerator, account_service: AccountService, directory: MessageDirectory
    ) -> None:
        self._db, self._clock, self._ids = db, clock, ids
        self._accounts = account_service
        self._directory = directory
        self._observers: list[PrivacyObserver] = []

    def add_observer(self, observer: PrivacyObserver) -> None:
        self._observers.append(observer)

    async def block(self, user_id: int, target: UserRow) -> UserRow:
        """Block `target` (found with AccountService.discover: the answer names them, so it is a lookup)."""
        if target.id == user_id:
            raise InvalidInputError("you cannot block yourself")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            if repo.add_block(conn, user_id, target.id, now):
                for observer in self._observers:
                    observer.on_block(conn, user_id, target.id, now)

        await self._db.write("privacy.block", unit)
        return target

    async def unblock(self, user_id: int, blocked_id: int) -> None:
        if not await self._db.write("privacy.unblock", lambda c: repo.remove_block(c, user_id, blocked_id)):
            raise NotFoundError("that user is not blocked")

    async def blocked(self, user_id: int) -> list[tuple[UserRow, int]]:
        def unit(conn: Connection) -> list[tuple[UserRow, int]]:
            rows = repo.list_blocked(conn, user_id)
            found = get_users(conn, [u for u, _ in rows])
            return [(found[u], at) for u, at in rows if u in found]

        return await self._db.read(unit)

    async def group_add_policy(self, user_id: int) -> str:
        return (await self._db.read(lambda c: repo.group_add_policies(c, [user_id])))[user_id]

    async def set_group_add_policy(self, user_id: int, group_add: str) -> None:
        await self.set_policies(user_id, {"group_add": group_add})

    async def last_seen_policy(self, user_id: int) -> str:
        return (await self._db.read(lambda c: repo.last_seen_policies(c, [user_id])))[user_id]

    async def set_policies(self, user_id: int, changes: dict[str, str]) -> None:
        """Change some privacy settings (`group_add`, `last_seen`) at once: all of them or, on bad input, none."""
        for setting, choice in changes.items():
            choices = _CHOICES.get(setting)
            if choices is None:
                raise InvalidInputError(f"unknown privacy setting {setting!r}")
            if choice not in choices:
                raise InvalidInputError(f"{setting} is one of {', '.join(choices)}")
        now = self._clock.now_ms()

        def unit(conn: Connection) -> None:
            for setting, choice in changes.items():
                repo.set_policy(conn, user_id, setting, choice, now)

        if changes:
            await self._db.write("privacy.set_policies", unit)

    async def report(
        self, reporter_id: int, reported_id: int, chat_id: int | None, message_ids: list[int], reason: str
    ) -> int:
        now = self._clock.now_ms()
        report_id = self._ids.next_id()

        def unit(conn: Connection) -> None:
            if not get_users(conn, [reported_id]):
                raise NotFoundError("no such user")
            if message_ids and not self._directory.messages_reportable(conn, reporter_id, reported_id, message_ids):
                raise NotFoundError("the reported messages are not messages this user sent you")
            repo.insert_report(conn, report_id, reporter_id, reported_id, chat_id, message_ids, reason, now)
            for observer in self._observers:
                observer.on_report(conn, reporter_id, reported_id, now)

        await self._db.write("privacy.report", unit)
        return report_id
