"""Team inbox at scale: the agent's conversation list and routing, small business versus huge one.

    .venv/bin/python bench/inbox_scale.py --sizes 1000,100000 --agents 3,60

For each size, a fresh SQLite file gets one business with its agents and that many conversations bulk-loaded
(rich progress bar: 15 % open, 5 % pending, 80 % resolved, a tenth labelled), then a real `parley serve`
process answers a client in this process (one request at a time, keep-alive):
- the inbox list an agent opens (open conversations, all / mine / unassigned, a label, the second page) and
  `/healthz` on the same server as the baseline, p50 / p95 of each;
- routing: people who never wrote before write to the business (a new conversation routed round robin), timed
  end to end, beside the same message from one person to another (no business, no routing) as its baseline.
The smallest size is the reference: list and routing should cost the same whatever the number of conversations.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import create_engine, insert, update

from parley.config import Settings
from parley.container import build_container
from parley.inbox.models import inbox_agents, inbox_contacts, inbox_thread_labels, inbox_threads
from parley.inbox.repository import labels_of_waba
from servers import Server, parley_cli
from stats import latency_summary, percentile, run_async

console = Console()
BATCH = 20_000
PASSWORD = "bench-password-1"


async def seed_business(data_dir: Path, agents: int, people: int) -> dict[str, Any]:
    """One business, its agents (all online), and people with tokens who will write to it."""
    container = build_container(Settings(data_dir=data_dir, secret_key="bench-secret"))
    await container.start()
    try:
        created = await container.business.create_business("Bench Shop", "+33612345678")
        agent_ids = []
        for i in range(agents):
            agent, _ = await container.inbox.create_agent(
                created.waba_id,
                email=f"agent{i}@bench.example",
                name=f"Agent {i}",
                role="owner" if i == 0 else "agent",
                password=PASSWORD,
            )
            agent_ids.append(int(agent["id"]))
        tokens = []
        for i in range(people):
            session = await container.accounts.create_user_with_token(f"+1415666{i:04d}", f"Person {i}")
            tokens.append(session.token)
        await container.accounts.create_user_with_token("+14157770000", "Peer")
        # Everyone online with room to spare: routing always has all agents to choose from.
        await container.db.write(
            "bench.seed_business",
            lambda c: c.execute(
                update(inbox_agents)
                .where(inbox_agents.c.waba_id == created.waba_id)
                .values(availability="online", capacity=1_000_000)
            ),
        )
        labels = await container.db.read(lambda c: [r.id for r in labels_of_waba(c, created.waba_id)])
        return {
            "waba_id": created.waba_id,
            "number_id": created.phone_number_id,
            "business_phone": "+33612345678",
            "agents": agent_ids,
            "tokens": tokens,
            "peer_phone": "+14157770000",
            "labels": labels,
        }
    finally:
        await container.close()


def load_conversations(db_file: Path, seed: dict[str, Any], size: int, progress: Progress) -> None:
    engine = create_engine(f"sqlite:///{db_file}")
    rng = random.Random(7)
    task = progress.add_task(f"loading {size:,} conversations", total=size)
    base_id = 9_000_000_000_000
    now = int(time.time() * 1000)
    for start in range(0, size, BATCH):
        threads, contacts, labels = [], [], []
        for i in range(start, min(start + BATCH, size)):
            roll = rng.random()
            status = "open" if roll < 0.15 else "pending" if roll < 0.20 else "resolved"
            assignee = rng.choice(seed["agents"]) if status != "resolved" or rng.random() < 0.9 else None
            if status == "open" and rng.random() < 0.1:
                assignee = None
            at = now - (size - i) * 1000
            person = base_id + i
            threads.append(
                {
                    "conversation_id": base_id + i,
                    "waba_id": seed["waba_id"],
                    "phone_number_id": seed["number_id"],
                    "person_id": person,
                    "chat_id": base_id + i,
                    "status": status,
                    "assignee_id": assignee,
                    "unread": rng.randint(0, 3) if status == "open" else 0,
                    "last_message_at": at,
                    "last_message_text": "Hello, is my order on its way? It was due yesterday.",
                    "last_direction": "in",
                    "last_inbound_at": at,
                    "waiting_since": at if status == "open" and assignee is None else None,
                    "opened_at": at,
                    "created_at": at,
                }
            )
            contacts.append(
                {
                    "id": base_id + i,
                    "waba_id": seed["waba_id"],
                    "person_id": person,
                    "phone": f"+1202{i:07d}",
                    "profile_name": f"Customer {i}",
                    "name": "",
                    "notes": "",
                    "first_contact_at": at,
                    "last_contact_at": at,
                    "last_inbound_at": at,
                    "updated_at": at,
                }
            )
            if rng.random() < 0.1:
                labels.append(
                    {"conversation_id": base_id + i, "label_id": rng.choice(seed["labels"]), "created_at": at}
                )
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
            conn.execute(insert(inbox_threads), threads)
            conn.execute(insert(inbox_contacts), contacts)
            if labels:
                conn.execute(insert(inbox_thread_labels), labels)
        progress.advance(task, len(threads))
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


async def measure(server: Server, seed: dict[str, Any], rounds: int) -> dict[str, dict[str, Any]]:
    base = f"http://127.0.0.1:{server.port}"
    results: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(base_url=base, timeout=30) as agent:
        await agent.get("/inbox/login")  # the form's CSRF cookie, echoed back as csrf_token
        token = agent.cookies["parley_inbox_login"]
        form = {"email": "agent0@bench.example", "password": PASSWORD, "csrf_token": token}
        signed = await agent.post("/inbox/login", data=form)
        assert signed.status_code == 303, signed.text
        first = (await agent.get("/inbox/api/conversations")).json()
        cursor = first["paging"]["next"]
        label = seed["labels"][1]
        targets = {
            "baseline /healthz": "/healthz",
            "list: open, all": "/inbox/api/conversations",
            "list: open, mine": "/inbox/api/conversations?assignee=mine",
            "list: unassigned": "/inbox/api/conversations?assignee=unassigned",
            "list: resolved": "/inbox/api/conversations?status=resolved",
            "list: open, a label": f"/inbox/api/conversations?label={label}",
            "list: second page": f"/inbox/api/conversations?cursor={cursor}",
        }
        for name, path in targets.items():
            for _ in range(10):  # warm caches and connections
                await agent.get(path)
            samples = []
            for _ in range(rounds):
                started = time.perf_counter()
                response = await agent.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
            results[name] = _summary(samples)

        # Routing: each person writes for the first time (a new conversation, routed), versus a plain chat message.
        async def send(token: str, to: str) -> float:
            started = time.perf_counter()
            response = await agent.post(
                "/client/v1/messages",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "to": to,
                    "type": "text",
                    "text": {"body": "Hi, I have a question"},
                    "client_id": uuid.uuid4().hex,
                },
            )
            assert response.status_code == 200, response.text
            return (time.perf_counter() - started) * 1000

        tokens = seed["tokens"]
        half = len(tokens) // 2
        plain = [await send(t, seed["peer_phone"]) for t in tokens[:half]]
        routed = [await send(t, seed["business_phone"]) for t in tokens[half:]]
        results["baseline: message to a person"] = _summary(plain)
        results["new conversation, routed"] = _summary(routed)
        check = (await agent.get("/inbox/api/conversations", params={"limit": 5})).json()["data"]
        assert all(row["assignee"] for row in check), "routing left new conversations unassigned"
    return results


def run_one(size: int, agents: int, rounds: int, people: int, workdir: Path, progress: Progress) -> dict[str, Any]:
    data_dir = workdir / f"inbox-{size}-{agents}"
    parley_cli(data_dir, "db", "upgrade")
    seed = run_async(seed_business(data_dir, agents, people))
    load_conversations(data_dir / "parley.db", seed, size, progress)
    server = Server.parley(data_dir, workdir)
    server.start()
    try:
        return run_async(measure(server, seed, rounds))
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--agents", default="3,60", help="agent counts to route among (on the largest size)")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--people", type=int, default=200, help="first-time writers (half to a person, half routed)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    agent_counts = [int(a) for a in args.agents.split(",")]
    runs: list[tuple[int, int]] = [(s, agent_counts[0]) for s in sizes] + [(sizes[-1], a) for a in agent_counts[1:]]
    figures: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="parley-inbox-bench-") as tmp, Progress(console=console) as progress:
        for size, agents in runs:
            figures[f"{size:,} conversations, {agents} agents"] = run_one(
                size, agents, args.rounds, args.people, Path(tmp), progress
            )
    table = Table(title="Team inbox: latency per request (ms), one request at a time")
    table.add_column("request")
    for run in figures:
        table.add_column(f"{run}\np50 / p95", justify="right")
    for name in next(iter(figures.values())):
        table.add_row(name, *[f"{figures[r][name]['p50_ms']:.1f} / {_p95(figures[r][name]):.1f}" for r in figures])
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def _summary(samples_ms: list[float]) -> dict[str, Any]:
    return {**latency_summary(samples_ms), "p95_ms": percentile(sorted(samples_ms), 95)}


def _p95(summary: dict[str, Any]) -> float:
    return float(summary["p95_ms"])


if __name__ == "__main__":
    main()
