"""Team inbox reports: scripted traffic on a frozen clock, then the JSON, the CSV and the page must tell the
numbers the test computes from the delays it scripted (per day in the business's time zone, per agent, per label).
"""

from __future__ import annotations

import csv
import io
import math
import re
import statistics
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from parley.config import Settings
from parley.inbox.reports import format_duration
from parley.kit.clock import FrozenClock
from tests.conftest import LiveServer
from tests.integration.business_helpers import Biz, create_business, person_writes
from tests.integration.inbox_helpers import Agent, agent

# Monday 2 March 2026, 09:00 UTC = 10:00 in Paris (UTC+1 until the end of March).
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# 23:30 UTC on the 2nd is already 00:30 on the 3rd in Paris: the second day's traffic.
LATE_EVENING = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
DAY1, DAY2 = "2026-03-02", "2026-03-03"
S = 1000
MIN = 60 * S


def median(values: list[int]) -> int:
    return int(statistics.median(values))


def p90(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def stats(values: list[int]) -> dict[str, Any]:
    return {
        "count": len(values),
        "median_ms": median(values),
        "p90_ms": p90(values),
        "median": format_duration(median(values)),
        "p90": format_duration(p90(values)),
    }


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    """A live server on a clock that moves only when the test says: delays are exact to the millisecond."""
    clock = FrozenClock(int(START.timestamp() * 1000))
    live = LiveServer(settings, clock)  # type: ignore[arg-type]  # same advance() as the default clock
    await live.start()
    try:
        yield live
    finally:
        await live.stop()


def advance_ms(server: LiveServer, ms: int) -> None:
    server.clock.advance(seconds=ms / 1000)


def advance_to(server: LiveServer, when: datetime) -> None:
    advance_ms(server, int(when.timestamp() * 1000) - server.clock.now_ms())


@dataclass
class Traffic:
    biz: Biz
    ana: Agent
    bob: Agent
    prospect: str
    conversations: dict[str, str]
    frt: dict[str, list[int]]  # per agent name
    resolution: dict[str, list[int]]
    prospect_frt: list[int]
    prospect_resolution: list[int]


async def _conversation_of(ana: Agent, name: str) -> str:
    rows = await ana.conversations(status="all")
    return next(r["id"] for r in rows if r["contact"]["name"] == name)


async def _reply(who: Agent, conversation_id: str, text: str) -> None:
    response = await who.post(f"/conversations/{conversation_id}/messages", {"text": text})
    assert response.status_code == 201, response.text


async def _resolve(who: Agent, conversation_id: str) -> None:
    response = await who.post(f"/conversations/{conversation_id}/status", {"status": "resolved"})
    assert response.status_code == 200, response.text


async def scripted_traffic(server: LiveServer) -> Traffic:
    """Two days of a shop in Paris; whoever replies first takes the conversation (manual routing)."""
    biz = await create_business(server, name="Acme Paris")
    ana = await agent(server, biz, "Ana", role="admin")
    bob = await agent(server, biz, "Bob")
    assert (await ana.put("/settings/hours", {"timezone": "Europe/Paris", "hours": {}})).status_code == 200
    routing = await ana.put(f"/numbers/{biz.phone_number_id}/routing", {"policy": "manual"})
    assert routing.status_code == 200, routing.text
    prospect = next(lab["id"] for lab in (await ana.get("/labels")).json()["data"] if lab["name"] == "Prospect")
    people = {name: await server.user(name) for name in ("P1", "P2", "P3", "P4")}
    ids: dict[str, str] = {}
    frt: dict[str, list[int]] = {"Ana": [], "Bob": []}
    resolution: dict[str, list[int]] = {"Ana": [], "Bob": []}

    # Day 1. P1: Ana answers after 65 s and resolves 10 min after P1 wrote.
    await person_writes(server, people["P1"], biz, "Where is my order?")
    ids["P1"] = await _conversation_of(ana, "P1")
    advance_ms(server, 65 * S)
    await _reply(ana, ids["P1"], "Checking now.")
    frt["Ana"].append(65 * S)
    advance_ms(server, 10 * MIN - 65 * S)
    await _resolve(ana, ids["P1"])
    resolution["Ana"].append(10 * MIN)

    # P2 (a prospect): Bob answers after 5 min and resolves an hour later.
    await person_writes(server, people["P2"], biz, "Do you sell gift cards?")
    ids["P2"] = await _conversation_of(ana, "P2")
    assert (await ana.post(f"/conversations/{ids['P2']}/labels", {"label_id": prospect})).status_code == 200
    advance_ms(server, 5 * MIN)
    await _reply(bob, ids["P2"], "We do!")
    frt["Bob"].append(5 * MIN)
    advance_ms(server, 60 * MIN)
    await _resolve(bob, ids["P2"])
    resolution["Bob"].append(65 * MIN)

    # P3 (a prospect): Ana answers after 2 min; it stays open overnight.
    await person_writes(server, people["P3"], biz, "Price for 10 pieces?")
    ids["P3"] = await _conversation_of(ana, "P3")
    assert (await bob.post(f"/conversations/{ids['P3']}/labels", {"label_id": prospect})).status_code == 200
    advance_ms(server, 2 * MIN)
    await _reply(ana, ids["P3"], "Let me ask.")
    frt["Ana"].append(2 * MIN)

    # Day 2 in Paris (still the 2nd in UTC). P1 writes again: a new period, still Ana's.
    advance_to(server, LATE_EVENING)
    await person_writes(server, people["P1"], biz, "It has not arrived.")
    advance_ms(server, 30 * S)
    await _reply(ana, ids["P1"], "Sorry, sending a new one.")
    frt["Ana"].append(30 * S)
    advance_ms(server, 20 * MIN)
    await _resolve(ana, ids["P1"])
    resolution["Ana"].append(20 * MIN + 30 * S)

    # P4: Bob answers after 45 s; it stays open.
    await person_writes(server, people["P4"], biz, "Hello?")
    ids["P4"] = await _conversation_of(ana, "P4")
    advance_ms(server, 45 * S)
    await _reply(bob, ids["P4"], "Hi!")
    frt["Bob"].append(45 * S)

    return Traffic(
        biz, ana, bob, prospect, ids, frt, resolution, prospect_frt=[5 * MIN, 2 * MIN], prospect_resolution=[65 * MIN]
    )


async def report(who: Agent, path: str = "/reports", **params: str) -> Any:
    response = await who.get(path, **params)
    assert response.status_code == 200, response.text
    return response.json() if path == "/reports" else response


async def test_the_report_tells_the_scripted_numbers_per_day_agent_and_label(server: LiveServer) -> None:
    t = await scripted_traffic(server)
    all_frt = t.frt["Ana"] + t.frt["Bob"]
    all_resolution = t.resolution["Ana"] + t.resolution["Bob"]

    data = await report(t.ana, **{"from": DAY1, "to": DAY2})
    assert data["timezone"] == "Europe/Paris" and (data["from"], data["to"]) == (DAY1, DAY2)
    summary = data["summary"]
    assert summary["first_response"] == stats(all_frt)
    assert summary["first_response"]["median"] == "1 min 5 s"  # the median of 30 s, 45 s, 65 s, 2 min, 5 min
    assert summary["resolution"] == stats(all_resolution)
    assert (summary["opened"], summary["resolved"], summary["messages_in"], summary["messages_out"]) == (5, 3, 5, 5)
    assert summary["backlog"] == 2  # P3 and P4

    # Days in Paris time: the 23:30 UTC traffic belongs to the 3rd.
    day1, day2 = data["days"]
    assert (day1["day"], day2["day"]) == (DAY1, DAY2)
    assert (day1["opened"], day1["resolved"], day1["messages_in"], day1["messages_out"]) == (3, 2, 3, 3)
    assert (day2["opened"], day2["resolved"], day2["messages_in"], day2["messages_out"]) == (2, 1, 2, 2)
    assert day1["first_response"] == stats([65 * S, 5 * MIN, 2 * MIN])
    assert day2["first_response"] == stats([30 * S, 45 * S])
    assert day1["resolution"] == stats([10 * MIN, 65 * MIN])
    assert (day1["backlog"], day2["backlog"]) == (1, 2)

    agents = {row["id"]: row for row in data["agents"]}
    assert set(agents) == {t.ana.id, t.bob.id}
    ana, bob = agents[t.ana.id], agents[t.bob.id]
    assert ana["name"] == "Ana" and ana["first_response"] == stats(t.frt["Ana"])
    assert ana["resolution"] == stats(t.resolution["Ana"])
    assert (ana["opened"], ana["resolved"], ana["messages_out"]) == (3, 2, 3)  # P1 twice, P3
    assert bob["first_response"] == stats(t.frt["Bob"]) and bob["resolution"] == stats(t.resolution["Bob"])
    assert (bob["opened"], bob["resolved"], bob["messages_out"]) == (2, 1, 2)

    labels = {row["id"]: row for row in data["labels"]}
    prospect = labels[t.prospect]
    assert prospect["name"] == "Prospect"
    assert prospect["first_response"] == stats(t.prospect_frt)
    assert prospect["resolution"] == stats(t.prospect_resolution)
    assert (prospect["opened"], prospect["resolved"], prospect["messages_in"]) == (2, 1, 2)
    assert all(row["opened"] == 0 for key, row in labels.items() if key != t.prospect)

    # One agent: their own numbers, in the summary and per day.
    only_bob = await report(t.ana, **{"from": DAY1, "to": DAY2, "agent": t.bob.id})
    assert only_bob["summary"]["first_response"] == stats(t.frt["Bob"])
    assert (only_bob["summary"]["opened"], only_bob["summary"]["messages_in"]) == (2, 2)
    assert [d["first_response"]["count"] for d in only_bob["days"]] == [1, 1]
    assert only_bob["summary"]["backlog"] == 1  # P4

    # One label: the prospects' numbers, and each agent's share of them.
    prospects = await report(t.bob, **{"from": DAY1, "to": DAY2, "label": t.prospect})
    assert prospects["summary"]["first_response"] == stats(t.prospect_frt)
    assert prospects["summary"]["backlog"] == 1  # P3
    by_agent = {row["id"]: row for row in prospects["agents"]}
    assert by_agent[t.ana.id]["first_response"] == stats([2 * MIN])
    assert by_agent[t.bob.id]["resolution"] == stats([65 * MIN])

    # A range of one day, and the default range (the last 7 days ending today in Paris).
    first_day = await report(t.ana, **{"from": DAY1, "to": DAY1})
    assert [d["day"] for d in first_day["days"]] == [DAY1]
    assert first_day["summary"]["backlog"] == 1 and first_day["summary"]["opened"] == 3
    default = await report(t.ana)
    assert (default["from"], default["to"]) == ("2026-02-25", DAY2) and len(default["days"]) == 7
    assert default["summary"]["first_response"] == summary["first_response"]


async def test_the_csv_agrees_with_the_json(server: LiveServer) -> None:
    t = await scripted_traffic(server)
    data = await report(t.ana, **{"from": DAY1, "to": DAY2})
    response = await report(t.ana, "/reports.csv", **{"from": DAY1, "to": DAY2})
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_key = {(row["section"], row["key"]): row for row in rows}

    summary = by_key[("summary", f"{DAY1}..{DAY2}")]
    assert int(summary["frt_median_ms"]) == data["summary"]["first_response"]["median_ms"]
    assert int(summary["frt_p90_ms"]) == data["summary"]["first_response"]["p90_ms"]
    assert summary["frt_median"] == "1 min 5 s"
    assert int(summary["resolution_p90_ms"]) == data["summary"]["resolution"]["p90_ms"]
    assert int(summary["backlog"]) == 2
    for day in data["days"]:
        row = by_key[("day", day["day"])]
        assert (int(row["opened"]), int(row["resolved"]), int(row["backlog"])) == (
            day["opened"],
            day["resolved"],
            day["backlog"],
        )
        assert int(row["messages_in"]) == day["messages_in"] and int(row["messages_out"]) == day["messages_out"]
    for agent_row in data["agents"]:
        row = by_key[("agent", agent_row["id"])]
        assert row["name"] == agent_row["name"]
        assert int(row["frt_median_ms"]) == agent_row["first_response"]["median_ms"]
        assert int(row["resolution_median_ms"]) == agent_row["resolution"]["median_ms"]
    prospect = by_key[("label", t.prospect)]
    assert prospect["name"] == "Prospect" and int(prospect["frt_p90_ms"]) == p90(t.prospect_frt)
    # Labels without traffic have no durations: empty cells, not zeros.
    quiet = next(row for (section, _), row in by_key.items() if section == "label" and row["opened"] == "0")
    assert quiet["frt_median_ms"] == "" and quiet["first_responses"] == "0"
    # The page's CSV link serves the same file.
    page_csv = await t.ana.http.get("/inbox/reports.csv", params={"from": DAY1, "to": DAY2})
    assert page_csv.status_code == 200 and page_csv.text == response.text


def _text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found is not None, element_id
    return found.group(1).strip()


async def test_the_page_shows_tiles_charts_and_tables(server: LiveServer) -> None:
    t = await scripted_traffic(server)
    anonymous = await server.http.get("/inbox/reports", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/inbox/login"

    page = await t.ana.http.get("/inbox/reports", params={"from": DAY1, "to": DAY2})
    assert page.status_code == 200, page.text
    html = page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "style=" not in html and "<script" not in html  # the CSP allows neither
    all_frt = t.frt["Ana"] + t.frt["Bob"]
    all_resolution = t.resolution["Ana"] + t.resolution["Bob"]
    assert _text_of(html, "frt-median") == format_duration(median(all_frt)) == "1 min 5 s"
    assert _text_of(html, "frt-p90") == format_duration(p90(all_frt)) == "5 min"
    assert _text_of(html, "resolution-median") == format_duration(median(all_resolution)) == "20 min 30 s"
    assert _text_of(html, "resolution-p90") == "1 h 5 min"
    assert (_text_of(html, "opened"), _text_of(html, "resolved"), _text_of(html, "backlog")) == ("5", "3", "2")
    assert f'data-agent-id="{t.ana.id}"' in html and f'data-agent-id="{t.bob.id}"' in html
    assert f'data-label-id="{t.prospect}"' in html
    # Two charts of server-drawn bars: opened and resolved for each of the 2 days, and the FRT per day.
    assert html.count('class="chart-bar bar-opened"') == 2 and html.count('class="chart-bar bar-resolved"') == 2
    assert html.count('class="chart-bar bar-median"') == 2
    assert f'href="/inbox/reports.csv?from={DAY1}&amp;to={DAY2}"' in html

    bad = await t.ana.http.get("/inbox/reports", params={"from": DAY2, "to": DAY1})
    assert bad.status_code == 400 and 'id="report-error"' in bad.text


async def test_bad_ranges_are_refused(server: LiveServer) -> None:
    biz = await create_business(server)
    ana = await agent(server, biz, "Ana")
    for params in (
        {"from": DAY2, "to": DAY1},
        {"from": "2026-13-01"},
        {"to": "03/02/2026"},
        {"from": "20260302"},
        {"from": "2025-01-01", "to": DAY2},  # 427 days
        {"agent": "not-an-id"},
    ):
        response = await ana.get("/reports", **params)
        assert response.status_code == 400, params
        assert response.json()["error"]["code"] == "invalid_request"
        assert (await ana.get("/reports.csv", **params)).status_code == 400
    # 366 days is the most a report covers.
    assert (await ana.get("/reports", **{"from": "2025-03-03", "to": DAY2})).status_code == 200
    unauthenticated = await server.http.get("/inbox/api/reports")
    assert unauthenticated.status_code == 401


async def test_another_business_sees_only_its_own_numbers(server: LiveServer) -> None:
    t = await scripted_traffic(server)
    other = await create_business(server, name="Other shop")
    zed = await agent(server, other, "Zed", role="owner")

    for params in ({"agent": t.ana.id}, {"label": t.prospect}):
        refused = await zed.get("/reports", **params)
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
        assert (await zed.get("/reports.csv", **params)).status_code == 404
        page = await zed.http.get("/inbox/reports", params=params)
        assert page.status_code == 404 and t.ana.id not in page.text

    own = await report(zed, **{"from": DAY1, "to": DAY2})
    assert [row["id"] for row in own["agents"]] == [zed.id]
    assert t.prospect not in {row["id"] for row in own["labels"]}
    summary = own["summary"]
    assert (summary["opened"], summary["resolved"], summary["messages_in"], summary["backlog"]) == (0, 0, 0, 0)
    assert summary["first_response"] == {"count": 0, "median_ms": None, "p90_ms": None, "median": "—", "p90": "—"}


def test_durations_read_at_a_glance() -> None:
    assert format_duration(45 * S) == "45 s"
    assert format_duration(65 * S) == "1 min 5 s"
    assert format_duration(5 * MIN) == "5 min"
    assert format_duration(2 * 3600 * S + 3 * MIN + 59 * S) == "2 h 3 min"
    assert format_duration(26 * 3600 * S) == "26 h"
    assert format_duration(999) == "0 s"
    assert format_duration(None) == "—"
