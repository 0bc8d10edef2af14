"""A person's signals and consents, for their export and their erasure (`parley.rights`)."""

from __future__ import annotations

from sqlalchemy import Connection

from parley.kit.rows import Rows, rows_by
from parley.signals import repository as repo
from parley.signals.models import consent_events, consents, signal_businesses, signal_days


def personal_data_in(conn: Connection, user_id: int) -> dict[str, Rows]:
    """Their signals (counters, never content), current consents and every consent event."""
    return rows_by(
        conn,
        user_id,
        {
            "signal_days": signal_days.c.user_id,
            "signal_businesses": signal_businesses.c.user_id,
            "consents": consents.c.user_id,
            "consent_events": consent_events.c.user_id,
        },
    )


def erase_person_in(conn: Connection, user_id: int) -> None:
    """Signals and current consents go (nothing may be read about them any more); consent events stay, under the
    pseudonymous id, as the proof of what was agreed to when."""
    repo.delete_signals_of(conn, user_id)
