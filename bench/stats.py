"""Small helpers shared by the orchestrator and the workers: percentiles, /proc readings, limits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), int(-(-p * len(sorted_values) // 100))))
    return float(sorted_values[rank - 1])


def latency_summary(values_ms: Iterable[float]) -> dict[str, float | int | None]:
    ordered = sorted(values_ms)
    return {
        "count": len(ordered),
        "p50_ms": percentile(ordered, 50),
        "p90_ms": percentile(ordered, 90),
        "p99_ms": percentile(ordered, 99),
        "p999_ms": percentile(ordered, 99.9),
        "max_ms": ordered[-1] if ordered else None,
        "mean_ms": sum(ordered) / len(ordered) if ordered else None,
    }


def summarize_answers(statuses: dict[str, int], retry_after: dict[str, int]) -> dict[str, Any]:
    """Answers grouped as an overloaded server's client sees them, and how many refusals said when to retry."""
    groups: dict[str, int] = {}
    for status, n in statuses.items():
        code = int(status)
        key = "2xx" if 200 <= code < 300 else "503" if code == 503 else "429" if code == 429 else "other"
        groups[key] = groups.get(key, 0) + n
    refused = sum(n for s, n in statuses.items() if s in ("429", "503"))
    with_retry = sum(n for s, n in retry_after.items() if s in ("429", "503"))
    return {
        "answers": groups,
        "refused": refused,
        "refused_with_retry_after": with_retry,
        "retry_after_present": None if not refused else with_retry == refused,
    }


def raise_nofile(wanted: int) -> int:
    """Raise RLIMIT_NOFILE as far as allowed (root may also raise the hard limit); returns the soft limit."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    for target_hard in (max(hard, wanted), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, target_hard), target_hard))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (VmRSS), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine since boot, to compute how busy it was meanwhile."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = float(sum(parts[:8]))
    return total - idle, total


def loadavg() -> list[float]:
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop when it is installed (it is, with uvicorn[standard]): cheaper clients."""
    factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
