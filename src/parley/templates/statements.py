"""The template statement on a send's hot path (today's send count) as plain SQL per dialect, on the driver cursor."""

from __future__ import annotations

from parley.platform.db.driver import DriverCursor, numbered

# One upsert, safe under concurrent senders; the same text is valid on SQLite (3.24+) and PostgreSQL but for the
# parameter style.
_BUMP_SENDS_SQLITE = (
    "INSERT INTO template_daily_stats (template_id, day, sends, negatives) VALUES (?, ?, ?, 0) "
    "ON CONFLICT (template_id, day) DO UPDATE SET sends = template_daily_stats.sends + excluded.sends"
)
_BUMP_SENDS_POSTGRESQL = numbered(_BUMP_SENDS_SQLITE)
DAY_MS = 86_400_000


def bump_sends(cursor: DriverCursor, template_id: int, now: int, sends: int = 1) -> None:
    """Count `sends` in today's bucket of the template (`repository.bump_stats` for sends, without SQLAlchemy)."""
    statement = _BUMP_SENDS_POSTGRESQL if cursor.dialect == "postgresql" else _BUMP_SENDS_SQLITE
    cursor.run(statement, (template_id, now // DAY_MS, sends))
