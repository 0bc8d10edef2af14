"""History paging is a keyset range scan on (chat_id, id): its cost does not grow with the chat."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from parley.messaging import repository
from tests.conftest import LiveServer


async def test_history_page_query_searches_the_index_never_scans(server: LiveServer) -> None:
    if server.container.db.dialect != "sqlite":
        pytest.skip("the plan text checked here is SQLite's")

    def plan(conn: object) -> list[str]:
        query = repository.page_query(chat_id=1, user_id=1, before=10, limit=51)
        compiled = query.compile(compile_kwargs={"literal_binds": True})
        rows = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()  # type: ignore[attr-defined]
        return [str(r[-1]) for r in rows]

    steps = await server.container.db.read(plan)
    messages_step = next(s for s in steps if " messages " in f" {s} " or s.startswith("SEARCH messages"))
    assert messages_step.startswith("SEARCH messages USING"), steps
    assert "ix_messages_chat_id_id (chat_id=? AND id<?)" in messages_step, steps
    assert not any(s.startswith("SCAN messages") for s in steps), steps
    assert not any("TEMP B-TREE" in s for s in steps), f"no sort step expected: {steps}"
