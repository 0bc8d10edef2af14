"""The billing books' fixed names and days: ledger account keys, and calendar days in a business's time zone."""

from __future__ import annotations

import datetime
import zoneinfo
from functools import lru_cache


def wallet_key(waba_id: int) -> str:
    return f"waba:{waba_id}:wallet"


def revenue_key(lever: str, currency: str) -> str:
    return f"platform:revenue:{lever}:{currency}"


def cash_key(currency: str) -> str:
    return f"platform:cash:{currency}"


def promotions_key(currency: str) -> str:
    return f"platform:promotions:{currency}"


@lru_cache(maxsize=64)
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_day(ms: int, timezone: str) -> datetime.date:
    return datetime.datetime.fromtimestamp(ms / 1000, zone(timezone)).date()


def day_start_ms(day: datetime.date, timezone: str) -> int:
    return int(datetime.datetime(day.year, day.month, day.day, tzinfo=zone(timezone)).timestamp() * 1000)
