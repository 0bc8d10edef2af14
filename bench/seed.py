"""Create many benchmark users fast, in-process through Parley's own Container, before the server starts.

`parley user create` costs a process start (~1.5 s) per user: fine for a handful, not for 100,000. The
first `service_users` go through AccountService.create_user_with_token (the operator path, concurrent,
so the SQLite writer group-commits them); the rest are written in large batches by one write unit each,
with the same tables and token hashing the service uses. Every token is then used through the real
authentication path of the running server (a failure shows up as a refused upgrade or a 401).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, insert

from parley.accounts.models import devices, users
from parley.accounts.service import hash_token
from parley.config import Settings
from parley.container import build_container
from parley.messaging.schemas import SendMessageIn, TextIn


@dataclass(frozen=True)
class BenchUser:
    phone: str
    token: str


def phone_number(i: int) -> str:
    """Valid North American numbers (+1 415 2xx xxxx): 8,000,000 of them, all accepted by phonenumbers."""
    return f"+1415{2_000_000 + i:07d}"


async def _seed(
    settings: Settings,
    count: int,
    service_users: int,
    conversations: list[tuple[int, int]],
    progress: Callable[[int], None],
    phone_offset: int = 0,
) -> list[BenchUser]:
    container = build_container(settings)
    await container.start()
    out: list[BenchUser] = []
    try:
        first = min(service_users, count)
        for start in range(0, first, 500):
            sessions = await asyncio.gather(
                *(
                    container.accounts.create_user_with_token(
                        phone_number(phone_offset + i), f"Bench {i}", device_name="bench"
                    )
                    for i in range(start, min(first, start + 500))
                )
            )
            out += [BenchUser(phone_number(phone_offset + start + k), s.token) for k, s in enumerate(sessions)]
            progress(len(sessions))
        chunk = 10_000
        for start in range(first, count, chunk):
            stop = min(count, start + chunk)
            now = int(time.time() * 1000)
            batch = [BenchUser(phone_number(phone_offset + i), secrets.token_urlsafe(32)) for i in range(start, stop)]
            user_rows = [
                {"id": container.ids.next_id(), "phone": u.phone, "name": f"Bench {start + k}", "created_at": now}
                for k, u in enumerate(batch)
            ]
            device_rows = [
                {
                    "id": container.ids.next_id(),
                    "user_id": row["id"],
                    "name": "bench",
                    "token_hash": hash_token(u.token),
                    "created_at": now,
                    "last_seen_at": now,
                    "acked_seq": 0,
                }
                for row, u in zip(user_rows, batch, strict=True)
            ]

            def unit(
                conn: Connection,
                user_rows: list[dict[str, object]] = user_rows,
                device_rows: list[dict[str, object]] = device_rows,
            ) -> None:
                conn.execute(insert(users), user_rows)
                conn.execute(insert(devices), device_rows)

            await container.db.write("bench.seed", unit)
            out += batch
            progress(len(batch))
        # One first message per (sender, recipient) pair, through MessagingService.send: the direct
        # chats exist before the load starts, as in a running system (the first send creates the chat).
        sender_ids = {}
        for start in range(0, len(conversations), 500):
            part = conversations[start : start + 500]
            for a, _ in part:
                if a not in sender_ids:
                    sender_ids[a] = (await container.accounts.find_by_phone(out[a].phone)).id
            await asyncio.gather(
                *(
                    container.messaging.send(
                        sender_ids[a],
                        SendMessageIn(
                            to=out[b].phone, type="text", text=TextIn(body="hello"), client_id=f"seed-{a}-{b}"
                        ),
                    )
                    for a, b in part
                )
            )
            progress(len(part))
    finally:
        await container.close()
    return out


def seed_users(
    data_dir: Path,
    count: int,
    *,
    service_users: int = 2000,
    conversations: list[tuple[int, int]] | None = None,
    progress: Callable[[int], None] = lambda n: None,
    database_url: str = "",
    phone_offset: int = 0,
) -> list[BenchUser]:
    """Create `count` users with one device token each in the database under data_dir, or at database_url
    (already migrated), then one message for each (sender index, recipient index) in `conversations`.
    `phone_offset`: the index of the first user's phone number (another seed already used the lower ones)."""
    settings = Settings(data_dir=data_dir, secret_key="bench-secret", database_url=database_url)
    return asyncio.run(_seed(settings, count, service_users, conversations or [], progress, phone_offset))
