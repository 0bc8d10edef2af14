"""Team inbox reports: per day (in the business's time zone), per agent and per label, from `inbox_events`.

Definitions (docs and tests rely on them):
- opened: periods opened, i.e. `opened` + `reopened` events. Seen from one agent (the agent filter, the agent
  rows) it is the conversations that came to that agent: `assigned` to them, or `reopened` while theirs.
- resolved: `resolved` events (per agent: resolved while assigned to them).
- messages in / out: `message_in` / `message_out`; automatic away and greeting messages are not "out" but
  counted apart as `automated_out`. With the agent filter, messages in count in the conversations that agent
  worked on in the range.
- first response time and resolution time: the `duration_ms` of `first_response` and `resolved` events, bucketed
  by the day the event happened. Median is the middle value (mean of the two middle ones, rounded down); p90 is
  the nearest-rank 90th percentile (the ceil(0.9 n)-th smallest value).
- labels are taken as they are now (a conversation's label history is not kept).
- backlog: conversations open or pending at the end of each day. It starts from `inbox_threads` now (exact) and
  walks back over the events since the range's first day (opened/reopened +1, resolved -1 going forward). With
  the agent filter it starts from the agent's open conversations now and walks back over their assigned,
  reopened and resolved events, so a conversation handed from them to someone else is not followed.
"""

from __future__ import annotations

import csv
import io
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from parley.inbox import repository as repo
from parley.inbox.inputs import optional_id
from parley.kit.errors import InvalidInputError, NotFoundError
from parley.kit.spreadsheet import safe_cell
from parley.platform.db import Database

if TYPE_CHECKING:
    from parley.inbox.ports import BusinessPort

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 7
_OPENING = ("opened", "reopened")
_AGENT_OPENING = ("assigned", "reopened")  # a conversation came to the agent
_AGENT_KINDS = ("assigned", "reopened", "first_response", "resolved", "message_out")


def format_duration(ms: int | None) -> str:
    """A duration people read at a glance: "45 s", "1 min 5 s", "2 h 3 min", "26 h" (rounded down)."""
    if ms is None:
        return "—"
    seconds = max(int(ms), 0) // 1000
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min" + (f" {seconds} s" if seconds else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


def median(values: list[int]) -> int | None:
    return None if not values else int(statistics.median(values))


def p90(values: list[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(0.9 * len(ordered)), 1) - 1]


@dataclass(frozen=True)
class DurationStats:
    count: int
    median_ms: int | None
    p90_ms: int | None

    @classmethod
    def of(cls, values: list[int]) -> DurationStats:
        return cls(len(values), median(values), p90(values))

    def as_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "median_ms": self.median_ms,
            "p90_ms": self.p90_ms,
            "median": format_duration(self.median_ms),
            "p90": format_duration(self.p90_ms),
        }


@dataclass
class Tally:
    """Counts and durations of one slice of events (a day, an agent, a label, the whole range)."""

    opened: int = 0
    resolved: int = 0
    messages_in: int = 0
    messages_out: int = 0
    automated_out: int = 0
    first_responses: list[int] = field(default_factory=list)
    resolutions: list[int] = field(default_factory=list)

    def add(self, event: repo.EventRow, *, agent_view: bool) -> None:
        kind = event.kind
        if kind in (_AGENT_OPENING if agent_view else _OPENING):
            self.opened += 1
        elif kind == "resolved":
            self.resolved += 1
            if event.duration_ms is not None:
                self.resolutions.append(event.duration_ms)
        elif kind == "first_response" and event.duration_ms is not None:
            self.first_responses.append(event.duration_ms)
        elif kind == "message_in":
            self.messages_in += 1
        elif kind == "message_out":
            if event.automated:
                self.automated_out += 1
            else:
                self.messages_out += 1

    @property
    def frt(self) -> DurationStats:
        return DurationStats.of(self.first_responses)

    @property
    def resolution(self) -> DurationStats:
        return DurationStats.of(self.resolutions)

    def as_json(self) -> dict[str, Any]:
        return {
            "opened": self.opened,
            "resolved": self.resolved,
            "messages_in": self.messages_in,
            "messages_out": self.messages_out,
            "automated_out": self.automated_out,
            "first_response": self.frt.as_json(),
            "resolution": self.resolution.as_json(),
        }


@dataclass(frozen=True)
class DayReport:
    day: date
    tally: Tally
    backlog: int


@dataclass(frozen=True)
class AgentReport:
    id: int
    name: str
    disabled: bool
    tally: Tally


@dataclass(frozen=True)
class LabelReport:
    id: int
    name: str
    colour: str
    tally: Tally


@dataclass(frozen=True)
class Report:
    waba_id: int
    timezone: str
    since_day: date
    until_day: date
    agent_id: int | None
    label_id: int | None
    summary: Tally
    backlog: int  # at the end of the range (now, if the range ends today)
    days: list[DayReport]
    agents: list[AgentReport]  # every agent (the label filter applies, not the agent filter)
    labels: list[LabelReport]  # every label (the agent filter applies, not the label filter)

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.since_day.isoformat(),
            "to": self.until_day.isoformat(),
            "timezone": self.timezone,
            "filters": {
                "agent": None if self.agent_id is None else str(self.agent_id),
                "label": None if self.label_id is None else str(self.label_id),
            },
            "summary": {**self.summary.as_json(), "backlog": self.backlog},
            "days": [{"day": d.day.isoformat(), **d.tally.as_json(), "backlog": d.backlog} for d in self.days],
            "agents": [
                {"id": str(a.id), "name": a.name, "disabled": a.disabled, **_agent_json(a.tally)} for a in self.agents
            ],
            "labels": [
                {"id": str(lab.id), "name": lab.name, "colour": lab.colour, **lab.tally.as_json()}
                for lab in self.labels
            ],
        }


def _agent_json(tally: Tally) -> dict[str, Any]:
    full = tally.as_json()
    return {k: full[k] for k in ("opened", "resolved", "messages_out", "first_response", "resolution")}


# --- the query: dates and filters ----------------------------------------------------------------


@dataclass(frozen=True)
class ReportQuery:
    since_day: date
    until_day: date
    agent_id: int | None
    label_id: int | None


def _day(raw: str | None, what: str) -> date | None:
    if not raw:
        return None
    # fromisoformat alone also takes "20240101" and week dates; the API promises YYYY-MM-DD only.
    if not _ISO_DAY.fullmatch(raw):
        raise InvalidInputError(f"{what} must be a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInputError(f"{what} is not a date of the calendar") from exc


def parse_query(
    today: date, raw_from: str | None, raw_to: str | None, raw_agent: str | None, raw_label: str | None
) -> ReportQuery:
    """The range asked for (default: the last 7 days ending today), checked: 400 invalid_request when wrong."""
    until_day = _day(raw_to, "to") or today
    since_day = _day(raw_from, "from") or until_day - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if since_day > until_day:
        raise InvalidInputError("from must not be after to")
    if (until_day - since_day).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInputError(f"a report covers at most {MAX_RANGE_DAYS} days")
    return ReportQuery(since_day, until_day, optional_id(raw_agent, "agent"), optional_id(raw_label, "label"))


def local_today(now_ms: int, timezone: str) -> date:
    return datetime.fromtimestamp(now_ms / 1000, ZoneInfo(timezone)).date()


def _midnight_ms(day: date, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, time(0), tzinfo=zone).timestamp() * 1000)


# --- building it -----------------------------------------------------------------------------------


async def report_for(
    db: Database,
    business: BusinessPort,
    waba_id: int,
    now_ms: int,
    raw_from: str | None = None,
    raw_to: str | None = None,
    raw_agent: str | None = None,
    raw_label: str | None = None,
) -> Report:
    """The report a request's query string asks for."""
    info = await business.inbox_business(waba_id)
    query = parse_query(local_today(now_ms, info.timezone), raw_from, raw_to, raw_agent, raw_label)
    return await build_report(
        db, business, waba_id, query.since_day, query.until_day, agent_id=query.agent_id, label_id=query.label_id
    )


async def build_report(
    db: Database,
    business: BusinessPort,
    waba_id: int,
    since_day: date,
    until_day: date,
    agent_id: int | None = None,
    label_id: int | None = None,
) -> Report:
    info = await business.inbox_business(waba_id)
    zone = ZoneInfo(info.timezone)
    since = _midnight_ms(since_day, zone)
    until = _midnight_ms(until_day + timedelta(days=1), zone)

    def unit(conn: Connection) -> Report:
        if agent_id is not None:
            found = repo.get_agent(conn, agent_id)
            if found is None or found.waba_id != waba_id:
                raise NotFoundError("no such agent")
        if label_id is not None and repo.get_label(conn, waba_id, label_id) is None:
            raise NotFoundError("no such label")
        labelled = repo.report_label_conversations(conn, waba_id)
        events = repo.events_between(conn, waba_id, since, until)
        in_label = events if label_id is None else [e for e in events if e.conversation_id in labelled[label_id]]
        selected = in_label if agent_id is None else _of_agent(in_label, agent_id)
        agent_view = agent_id is not None
        days = _days(selected, since_day, until_day, zone, agent_view)
        backlog = _backlog(
            repo.report_backlog_events_since(conn, waba_id, since),
            repo.report_open_threads(conn, waba_id),
            None if label_id is None else labelled[label_id],
            agent_id,
            [_midnight_ms(d + timedelta(days=1), zone) for d in days],
        )
        return Report(
            waba_id=waba_id,
            timezone=info.timezone,
            since_day=since_day,
            until_day=until_day,
            agent_id=agent_id,
            label_id=label_id,
            summary=_tally(selected, agent_view),
            backlog=backlog[-1],
            days=[DayReport(d, tally, b) for (d, tally), b in zip(days.items(), backlog, strict=True)],
            agents=_agents(conn, waba_id, in_label),
            labels=[
                LabelReport(lab.id, lab.name, lab.colour, _tally(_in(selected, labelled[lab.id]), agent_view))
                for lab in repo.labels_of_waba(conn, waba_id)
            ],
        )

    return await db.read(unit)


def _tally(events: Iterable[repo.EventRow], agent_view: bool) -> Tally:
    tally = Tally()
    for event in events:
        tally.add(event, agent_view=agent_view)
    return tally


def _in(events: list[repo.EventRow], conversations: set[int]) -> list[repo.EventRow]:
    return [e for e in events if e.conversation_id in conversations]


def _of_agent(events: list[repo.EventRow], agent_id: int) -> list[repo.EventRow]:
    """What one agent did, and the messages people sent in the conversations they worked on."""
    worked = {e.conversation_id for e in events if e.agent_id == agent_id and e.kind in _AGENT_KINDS}
    return [
        e
        for e in events
        if (e.kind in _AGENT_KINDS and e.agent_id == agent_id)
        or (e.kind == "message_in" and e.conversation_id in worked)
    ]


def _days(
    events: list[repo.EventRow], since_day: date, until_day: date, zone: ZoneInfo, agent_view: bool
) -> dict[date, Tally]:
    days = {since_day + timedelta(days=i): Tally() for i in range((until_day - since_day).days + 1)}
    for event in events:
        day = datetime.fromtimestamp(event.at / 1000, UTC).astimezone(zone).date()
        if day in days:
            days[day].add(event, agent_view=agent_view)
    return days


def _agents(conn: Connection, waba_id: int, events: list[repo.EventRow]) -> list[AgentReport]:
    by_agent: dict[int, list[repo.EventRow]] = defaultdict(list)
    for event in events:
        if event.agent_id is not None and event.kind in _AGENT_KINDS:
            by_agent[event.agent_id].append(event)
    rows = []
    for agent in repo.agents_of(conn, waba_id):
        if agent.disabled_at is not None and agent.id not in by_agent:
            continue  # a disabled agent shows only for the ranges they worked in
        rows.append(AgentReport(agent.id, agent.name, agent.disabled_at is not None, _tally(by_agent[agent.id], True)))
    return rows


def _backlog(
    status_events: list[repo.EventRow],
    open_now: list[tuple[int, int | None]],
    conversations: set[int] | None,
    agent_id: int | None,
    day_ends: list[int],
) -> list[int]:
    """Open conversations at each of `day_ends`: today's count, walked back over the later status changes."""

    def counted(conversation_id: int) -> bool:
        return conversations is None or conversation_id in conversations

    current = sum(1 for c, assignee in open_now if counted(c) and (agent_id is None or assignee == agent_id))
    out: list[int] = []
    pending = sorted((e for e in status_events if counted(e.conversation_id)), key=lambda e: (e.at, e.id))
    for end in reversed(day_ends):
        while pending and pending[-1].at >= end:
            current -= _step(pending.pop(), agent_id)
        out.append(max(current, 0))
    return out[::-1]


def _step(event: repo.EventRow, agent_id: int | None) -> int:
    """How much the event moved the backlog forward in time."""
    if agent_id is None:
        return 1 if event.kind in _OPENING else -1 if event.kind == "resolved" else 0
    if event.agent_id != agent_id:
        return 0
    return 1 if event.kind in ("assigned", "reopened") else -1 if event.kind == "resolved" else 0


# --- CSV -------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "section",
    "key",
    "name",
    "opened",
    "resolved",
    "messages_in",
    "messages_out",
    "automated_out",
    "backlog",
    "first_responses",
    "frt_median_ms",
    "frt_p90_ms",
    "frt_median",
    "frt_p90",
    "resolutions",
    "resolution_median_ms",
    "resolution_p90_ms",
    "resolution_median",
    "resolution_p90",
)


def report_csv(report: Report) -> str:
    """One header, one row per section × key: the summary, each day, each agent, each label."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    span = f"{report.since_day.isoformat()}..{report.until_day.isoformat()}"
    writer.writerow(_csv_row("summary", span, "", report.summary, report.backlog))
    for day in report.days:
        writer.writerow(_csv_row("day", day.day.isoformat(), "", day.tally, day.backlog))
    for agent in report.agents:
        writer.writerow(_csv_row("agent", str(agent.id), agent.name, agent.tally, None, agent_view=True))
    for label in report.labels:
        writer.writerow(_csv_row("label", str(label.id), label.name, label.tally, None))
    return out.getvalue()


def _csv_row(
    section: str, key: str, name: str, tally: Tally, backlog: int | None, *, agent_view: bool = False
) -> list[object]:
    frt, resolution = tally.frt, tally.resolution
    return [
        section,
        key,
        safe_cell(name),
        tally.opened,
        tally.resolved,
        "" if agent_view else tally.messages_in,
        tally.messages_out,
        "" if agent_view else tally.automated_out,
        "" if backlog is None else backlog,
        frt.count,
        _blank(frt.median_ms),
        _blank(frt.p90_ms),
        _blank_text(frt.median_ms),
        _blank_text(frt.p90_ms),
        resolution.count,
        _blank(resolution.median_ms),
        _blank(resolution.p90_ms),
        _blank_text(resolution.median_ms),
        _blank_text(resolution.p90_ms),
    ]


def _blank(value: int | None) -> object:
    return "" if value is None else value


def _blank_text(ms: int | None) -> str:
    return "" if ms is None else format_duration(ms)
