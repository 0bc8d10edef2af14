"""Every hot messaging statement, run on the driver of the suite's database: SQLite, or PostgreSQL when asked.

The expected values are literals, so the run on SQLite and the run on PostgreSQL prove the same results.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Connection, insert

from parley.accounts.repository import insert_device, insert_user
from parley.messaging.models import DELIVERED, READ, SENT, WITHHELD, inbox, messages, receipts
from parley.messaging.repository import add_members, insert_chat
from parley.messaging.statements import Driver, Statements
from parley.platform.db import Database, create_database
from parley.privacy.models import blocks


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    instance = create_database(database_url)
    yield instance
    await instance.close()


ALICE, BOB, CAROL, DEVICE, CHAT = 11, 12, 13, 21, 31


def _seed(conn: Connection) -> None:
    for user_id, phone, name in (
        (ALICE, "+14155550011", "Alice"),
        (BOB, "+14155550012", "Bob"),
        (CAROL, "+1415555013", "C"),
    ):
        insert_user(conn, user_id, phone, name, 0)
    insert_device(conn, DEVICE, BOB, "phone", "hash", 0)
    insert_chat(conn, CHAT, "group", "G", None, ALICE, 0)
    add_members(conn, CHAT, {ALICE: "admin", BOB: "member"}, 0)
    conn.execute(insert(blocks).values(blocker_id=CAROL, blocked_id=ALICE, created_at=0))


def _exercise(conn: Connection) -> tuple[dict[str, Any], set[str]]:
    db = Driver(conn)
    sql = db.sql
    used: set[str] = set()

    def run(name: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        used.add(name)
        return [tuple(r) for r in db.rows(getattr(sql, name), params)]

    out: dict[str, Any] = {}
    row = (101, CHAT, ALICE, "c-1", "text", '{"body":"hi"}', None, 1000, "hash-1")
    out["insert"] = run("insert_message", row)
    out["insert_again"] = run("insert_message", (102, *row[1:]))  # same client id: nothing
    out["find_sent"] = run("find_sent", (ALICE, "c-1"))
    out["find_unknown"] = run("find_sent", (ALICE, "c-2"))
    run("insert_message", (103, CHAT, ALICE, "c-3", "text", '{"body":"two"}', 101, 1001, None))
    out["name"] = run("user_name", (ALICE,))
    out["members"] = sorted(run("member_ids", (CHAT,)))
    out["blocked"] = (run("blocked_by", (CAROL, ALICE)), run("blocked_by", (BOB, ALICE)))
    used.add("insert_receipt")
    db.run_many(sql.insert_receipt, [(101, BOB, SENT), (101, CAROL, WITHHELD), (103, BOB, SENT)])
    out["seqs"] = [run("next_inbox_seq", (BOB,)), run("next_inbox_seq", (BOB,))]
    used.add("insert_inbox")
    db.run_many(sql.insert_inbox, [(BOB, 1, 101, "new", 1000), (BOB, 2, 103, "new", 1001)])
    out["marks"] = run("ack_marks", (BOB, DEVICE))
    run("set_ack", (1, DEVICE))
    out["marks_after"] = run("ack_marks", (BOB, DEVICE))
    out["delivered"] = run("mark_delivered_in_range", (2000, BOB, BOB, 0, 1))
    out["delivered_again"] = run("mark_delivered_in_range", (2000, BOB, BOB, 0, 1))
    out["facts"] = sorted(run("receipt_facts", (sql.id_list([101, 103, 999]),)))
    out["chat_of"] = (run("chat_of_member_message", (BOB, 103)), run("chat_of_member_message", (CAROL, 103)))
    out["read"] = sorted(run("mark_read_through", (3000, 3000, BOB, CHAT, 103)))
    out["facts_after"] = sorted(run("receipt_facts", (sql.id_list([101, 103]),)))
    return out, used


async def test_every_statement_gives_the_same_results_on_every_dialect(db: Database) -> None:
    await db.write("tests.test_every_statement_gives_the_same_results_on_every_dialect", _seed)
    results, used = await db.write("tests.test_every_statement_gives_the_same_results_on_every_dialect", _exercise)
    assert used == {f.name for f in dataclasses.fields(Statements)} - {"dialect"}
    assert results == {
        "insert": [(101,)],
        "insert_again": [],
        "find_sent": [(101, CHAT, 1000, "hash-1")],
        "find_unknown": [],
        "name": [("Alice",)],
        "members": [(ALICE,), (BOB,)],
        "blocked": ([(1,)], []),
        "seqs": [[(1,)], [(2,)]],
        "marks": [(2, 0)],
        "marks_after": [(2, 1)],
        "delivered": [(101,)],
        "delivered_again": [],
        "facts": [(101, CHAT, ALICE, DELIVERED), (103, CHAT, ALICE, SENT)],
        "chat_of": ([(CHAT,)], []),
        "read": [(101,), (103,)],
        "facts_after": [(101, CHAT, ALICE, READ), (103, CHAT, ALICE, READ)],
    }

    def stored(conn: Connection) -> tuple[Any, ...]:
        return (
            conn.execute(messages.select().order_by(messages.c.id)).all(),
            conn.execute(receipts.select().order_by(receipts.c.message_id, receipts.c.user_id)).all(),
            conn.execute(inbox.select().order_by(inbox.c.seq)).all(),
        )

    stored_messages, stored_receipts, stored_inbox = await db.read(stored)
    assert [tuple(m) for m in stored_messages] == [
        (101, CHAT, ALICE, "c-1", "text", '{"body":"hi"}', None, 1000, None, None, "hash-1"),
        (103, CHAT, ALICE, "c-3", "text", '{"body":"two"}', 101, 1001, None, None, None),
    ]
    assert [tuple(r) for r in stored_receipts] == [
        (101, BOB, READ, 2000, 3000),
        (101, CAROL, WITHHELD, None, None),
        (103, BOB, READ, 3000, 3000),
    ]
    assert [tuple(r) for r in stored_inbox] == [(BOB, 1, 101, "new", 1000), (BOB, 2, 103, "new", 1001)]
