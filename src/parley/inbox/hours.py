"""Weekly business hours in the business's time zone: parsing, "open now?", and "open at any time since?"."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from parley.kit.errors import InvalidInputError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
WeeklyHours = dict[str, list[tuple[int, int]]]  # day -> [(start minute, end minute)], sorted, disjoint


def parse_hours(raw: object) -> WeeklyHours:
    """`{"mon": [["09:00", "18:00"]], ...}` -> minutes; an empty object means open around the clock."""
    if not isinstance(raw, dict):
        raise InvalidInputError("hours must be an object of days (mon … sun) to lists of [start, end] times")
    hours: WeeklyHours = {}
    for day, ranges in raw.items():
        if day not in DAYS:
            raise InvalidInputError(f"hours: unknown day {day!r}; use {', '.join(DAYS)}")
        if not isinstance(ranges, list):
            raise InvalidInputError(f"hours.{day} must be a list of [start, end] pairs")
        parsed: list[tuple[int, int]] = []
        for pair in ranges:
            if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
                raise InvalidInputError(f'hours.{day}: each range is ["HH:MM", "HH:MM"]')
            start, end = (_minutes(day, p) for p in pair)
            if start >= end:
                raise InvalidInputError(f"hours.{day}: {pair[0]} is not before {pair[1]}")
            parsed.append((start, end))
        parsed.sort()
        for (_, end), (start, _) in itertools.pairwise(parsed):
            if start < end:
                raise InvalidInputError(f"hours.{day}: ranges overlap")
        hours[day] = parsed
    return hours


def _minutes(day: str, value: str) -> int:
    if not _TIME.match(value):
        raise InvalidInputError(f"hours.{day}: {value!r} is not a time HH:MM")
    hh, mm = value.split(":")
    return int(hh) * 60 + int(mm)


def render_hours(hours: WeeklyHours) -> dict[str, list[list[str]]]:
    return {day: [[_hhmm(a), _hhmm(b)] for a, b in hours.get(day, [])] for day in DAYS} if hours else {}


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def is_open(hours: WeeklyHours, timezone: str, at_ms: int) -> bool:
    if not hours:
        return True
    local = datetime.fromtimestamp(at_ms / 1000, ZoneInfo(timezone))
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in hours.get(DAYS[local.weekday()], []))


def opened_between(hours: WeeklyHours, timezone: str, since_ms: int, until_ms: int) -> bool:
    """Did the business open at some moment in (since, until]? (An away message goes out once per closure.)"""
    if not hours:
        return True
    zone = ZoneInfo(timezone)
    start = datetime.fromtimestamp(since_ms / 1000, zone)
    end = datetime.fromtimestamp(until_ms / 1000, zone)
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day <= end:
        for open_minute, _ in hours.get(DAYS[day.weekday()], []):
            opening = day + timedelta(minutes=open_minute)
            if start < opening <= end:
                return True
        day = (day + timedelta(days=1)).replace(hour=0, minute=0)
        if (day - start).days > 8:  # a whole week covers every opening
            break
    return False
