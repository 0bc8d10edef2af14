"""History page cost versus chat size: the same page query on a small chat and on a huge one.

    .venv/bin/python bench/history_depth.py --sizes 1000,1000000

Bulk-loads one chat per size straight into a fresh SQLite file (rich progress bar), then times the
service's `history` call for the newest page and for a page deep inside the chat. The smallest size is the
baseline: keyset paging on (chat_id, id) should keep every ratio near 1.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import create_engine, insert

from parley.accounts.models import users
from parley.config import Settings
from parley.container import build_container
from parley.messaging.content import TextContent, dump_content
from parley.messaging.models import chat_members, chats, messages, receipts
from parley.migrations import upgrade

console = Console()
BATCH = 20_000


def load_chat(db_file: Path, chat_id: int, size: int, progress: Progress) -> None:
    engine = create_engine(f"sqlite:///{db_file}")
    body = dump_content(TextContent(body="a message of ordinary length, about sixty characters long"))
    task = progress.add_task(f"loading {size:,} messages", total=size)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        conn.execute(
            insert(chats).values(id=chat_id, kind="direct", direct_key=f"{chat_id}", created_by=1, created_at=0)
        )
        conn.execute(insert(chat_members), [{"chat_id": chat_id, "user_id": u, "joined_at": 0} for u in (1, 2)])
    first_id = chat_id * 100_000_000
    for start in range(0, size, BATCH):
        rows = range(start, min(start + BATCH, size))
        with engine.begin() as conn:
            conn.execute(
                insert(messages),
                [
                    {
                        "id": first_id + i,
                        "chat_id": chat_id,
                        "sender_id": 1 + i % 2,
                        "client_id": f"{chat_id}-{i}",
                        "type": "text",
                        "content": body,
                        "created_at": i,
                    }
                    for i in rows
                ],
            )
            conn.execute(
                insert(receipts), [{"message_id": first_id + i, "user_id": 2 - i % 2, "status": 3} for i in rows]
            )
        progress.advance(task, len(rows))
    engine.dispose()


async def time_pages(settings: Settings, chat_id: int, size: int, rounds: int) -> tuple[float, float]:
    container = build_container(settings)
    await container.start()
    try:
        deep_cursor = str(chat_id * 100_000_000 + size // 2)
        newest, deep = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            await container.messaging.history(1, str(chat_id), None, 50)
            newest.append(time.perf_counter() - started)
            started = time.perf_counter()
            await container.messaging.history(1, str(chat_id), deep_cursor, 50)
            deep.append(time.perf_counter() - started)
        return statistics.median(newest) * 1000, statistics.median(deep) * 1000
    finally:
        await container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,1000000", help="comma-separated chat sizes; the first is the baseline")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        settings = Settings(data_dir=data_dir, secret_key="bench")
        db_file = data_dir / "parley.db"
        upgrade(settings.resolved_database_url)
        engine = create_engine(f"sqlite:///{db_file}")
        with engine.begin() as conn:
            conn.execute(insert(users), [{"id": u, "phone": f"+1415555{u:04d}", "created_at": 0} for u in (1, 2)])
        engine.dispose()
        with Progress(console=console) as progress:
            for index, size in enumerate(sizes, start=1):
                load_chat(db_file, index, size, progress)
        results = [(size, *asyncio.run(time_pages(settings, i, size, args.rounds))) for i, size in enumerate(sizes, 1)]
    table = Table(title=f"history page of 50, median of {args.rounds} calls (in-process service call, SQLite)")
    for column in ("messages in chat", "newest page ms", "ratio", "page at the middle ms", "ratio"):
        table.add_column(column, justify="right")
    base_newest, base_deep = results[0][1], results[0][2]
    for size, newest, deep in results:
        table.add_row(
            f"{size:,}", f"{newest:.3f}", f"{newest / base_newest:.2f}", f"{deep:.3f}", f"{deep / base_deep:.2f}"
        )
    console.print(table)


if __name__ == "__main__":
    main()
