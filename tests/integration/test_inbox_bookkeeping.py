"""Routing's bookkeeping holds under any mix of traffic and team actions: every agent's count of open
conversations equals the conversations actually assigned to them and not resolved, capacity is never
exceeded by routing, and a waiting conversation is exactly an open, unassigned one."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Connection, Row, select

from parley.inbox.models import inbox_agents, inbox_threads
from tests.conftest import LiveServer
from tests.integration.business_helpers import create_business, person_writes
from tests.integration.inbox_helpers import agent

pytestmark = pytest.mark.asyncio


async def _check_books(server: LiveServer, waba_id: int) -> None:
    def unit(conn: Connection) -> tuple[list[Row[Any]], list[Row[Any]]]:
        agents = list(conn.execute(select(inbox_agents).where(inbox_agents.c.waba_id == waba_id)))
        threads = list(conn.execute(select(inbox_threads).where(inbox_threads.c.waba_id == waba_id)))
        return agents, threads

    agents, threads = await server.container.db.read(unit)
    for row in agents:
        actual = sum(1 for t in threads if t.assignee_id == row.id and t.status != "resolved")
        assert row.open_count == actual, (row.name, row.open_count, actual)
    for t in threads:
        assert (t.waiting_since is not None) == (t.status == "open" and t.assignee_id is None), t


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_open_counts_match_assignments_after_random_traffic(server: LiveServer, seed: int) -> None:
    rng = random.Random(seed)
    biz = await create_business(server)
    team = [await agent(server, biz, f"Agent {i}", role="admin") for i in range(3)]
    lead = team[0]
    for member in team:
        await member.patch(f"/agents/{member.id}", {"capacity": 2})
    people = [await server.user(f"Person {i}") for i in range(6)]
    policies = ["round_robin", "least_open", "manual", "by_label"]
    for _ in range(60):
        action = rng.choice(["write", "write", "assign", "status", "availability", "policy", "capacity"])
        if action == "write":
            await person_writes(server, rng.choice(people), biz, "hello")
            continue
        rows = await lead.conversations(status="all")
        if action == "assign" and rows:
            target = rng.choice([None, *[m.id for m in team]])
            response = await lead.post(f"/conversations/{rng.choice(rows)['id']}/assign", {"agent_id": target})
            assert response.status_code == 200, response.text
        elif action == "status" and rows:
            status = rng.choice(["open", "pending", "resolved"])
            response = await lead.post(f"/conversations/{rng.choice(rows)['id']}/status", {"status": status})
            assert response.status_code == 200, response.text
        elif action == "availability":
            member = rng.choice(team)
            await member.patch("/me", {"availability": rng.choice(["online", "away", "offline"])})
        elif action == "policy":
            await lead.put(f"/numbers/{biz.phone_number_id}/routing", {"policy": rng.choice(policies)})
        elif action == "capacity":
            member = rng.choice(team)
            await lead.patch(f"/agents/{member.id}", {"capacity": rng.randint(0, 3)})
        await _check_books(server, int(biz.waba_id))
    await _check_books(server, int(biz.waba_id))


async def test_a_burst_of_new_conversations_is_shared_evenly_by_round_robin(server: LiveServer) -> None:
    """Nine people write at the same moment: three online agents get three each (the cursor takes turns)."""
    biz = await create_business(server)
    team = [await agent(server, biz, f"Agent {i}", role="admin") for i in range(3)]
    people = [await server.user(f"Person {i}") for i in range(9)]
    await asyncio.gather(*(person_writes(server, person, biz, "hello") for person in people))
    rows = await team[0].conversations(limit=20)
    shares = Counter(row["assignee"]["id"] for row in rows)
    assert sorted(shares.values()) == [3, 3, 3] and set(shares) == {m.id for m in team}
    await _check_books(server, int(biz.waba_id))
