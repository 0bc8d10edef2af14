"""Template queries: sync functions of a Connection, each an indexed lookup or a bounded scan."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Select, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from parley.templates.models import message_templates, template_creations, template_daily_stats

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


class ChangeListener(Protocol):
    def changed_in(self) -> None: ...


# The started template caches of this process (cache.TemplateCache): every write below tells them, so no caller
# can change a template and forget to invalidate.
CHANGE_LISTENERS: set[ChangeListener] = set()


def _changed() -> None:
    for listener in list(CHANGE_LISTENERS):
        listener.changed_in()


@dataclass(frozen=True)
class TemplateRow:
    id: int
    waba_id: int
    name: str
    language: str
    category: str
    previous_category: str | None
    correct_category: str | None
    sub_category: str | None
    parameter_format: str
    components: list[dict[str, Any]]
    message_send_ttl_seconds: int | None
    status: str
    rejected_reason: str
    review_message: str | None
    quality_score: str
    quality_updated_at: int | None
    pause_count: int
    paused_at: int | None
    paused_until: int | None
    review_due_at: int | None
    edit_count: int
    edit_window_start: int | None
    last_edited_at: int | None
    created_at: int
    updated_at: int


def _row(r: Any) -> TemplateRow:
    return TemplateRow(
        id=r.id,
        waba_id=r.waba_id,
        name=r.name,
        language=r.language,
        category=r.category,
        previous_category=r.previous_category,
        correct_category=r.correct_category,
        sub_category=r.sub_category,
        parameter_format=r.parameter_format,
        components=json.loads(r.components),
        message_send_ttl_seconds=r.message_send_ttl_seconds,
        status=r.status,
        rejected_reason=r.rejected_reason,
        review_message=r.review_message,
        quality_score=r.quality_score,
        quality_updated_at=r.quality_updated_at,
        pause_count=r.pause_count,
        paused_at=r.paused_at,
        paused_until=r.paused_until,
        review_due_at=r.review_due_at,
        edit_count=r.edit_count,
        edit_window_start=r.edit_window_start,
        last_edited_at=r.last_edited_at,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def dump_components(components: list[dict[str, Any]]) -> str:
    return json.dumps(components, ensure_ascii=False, separators=(",", ":"))


def get_template(conn: Connection, template_id: int) -> TemplateRow | None:
    r = conn.execute(select(message_templates).where(message_templates.c.id == template_id)).first()
    return None if r is None else _row(r)


def find_template(conn: Connection, waba_id: int, name: str, language: str) -> TemplateRow | None:
    """The send path's lookup: one probe of the (waba_id, name, language) unique index."""
    r = conn.execute(
        select(message_templates).where(
            message_templates.c.waba_id == waba_id,
            message_templates.c.name == name,
            message_templates.c.language == language,
        )
    ).first()
    return None if r is None else _row(r)


def name_exists(conn: Connection, waba_id: int, name: str) -> bool:
    return (
        conn.execute(
            select(message_templates.c.id)
            .where(message_templates.c.waba_id == waba_id, message_templates.c.name == name)
            .limit(1)
        ).first()
        is not None
    )


def count_names(conn: Connection, waba_id: int) -> int:
    """Distinct template names of a WABA (translations of one name count once); bounded by Meta's 250."""
    return int(
        conn.execute(
            select(func.count(func.distinct(message_templates.c.name))).where(message_templates.c.waba_id == waba_id)
        ).scalar_one()
    )


def count_templates(conn: Connection, waba_id: int) -> int:
    return int(conn.execute(select(func.count()).where(message_templates.c.waba_id == waba_id)).scalar_one())


def insert_template(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(message_templates).values(**values))
    _changed()


def update_template(conn: Connection, template_id: int, values: dict[str, Any], **expected: Any) -> bool:
    """Update one template if its columns still hold `expected` (a compare-and-set: exactly-once decisions)."""
    conditions = [message_templates.c.id == template_id]
    conditions += [message_templates.c[column] == value for column, value in expected.items()]
    result = conn.execute(update(message_templates).where(*conditions).values(**values))
    if result.rowcount == 1:
        _changed()
        return True
    return False


def delete_templates(conn: Connection, template_ids: list[int]) -> None:
    if not template_ids:
        return
    conn.execute(delete(template_daily_stats).where(template_daily_stats.c.template_id.in_(template_ids)))
    conn.execute(delete(message_templates).where(message_templates.c.id.in_(template_ids)))
    _changed()


def templates_named(conn: Connection, waba_id: int, name: str) -> list[TemplateRow]:
    rows = conn.execute(
        select(message_templates).where(message_templates.c.waba_id == waba_id, message_templates.c.name == name)
    )
    return [_row(r) for r in rows]


@dataclass(frozen=True)
class TemplateFilters:
    name: str | None = None  # part of the name
    content: str | None = None  # part of the components' text
    name_or_content: str | None = None
    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    quality_scores: tuple[str, ...] = ()


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(waba_id: int, filters: TemplateFilters) -> Select[Any]:
    query = select(message_templates).where(message_templates.c.waba_id == waba_id)
    if filters.name:
        query = query.where(message_templates.c.name.like(_like(filters.name), escape="\\"))
    if filters.content:
        query = query.where(message_templates.c.components.like(_like(filters.content), escape="\\"))
    if filters.name_or_content:
        pattern = _like(filters.name_or_content)
        query = query.where(
            or_(
                message_templates.c.name.like(pattern, escape="\\"),
                message_templates.c.components.like(pattern, escape="\\"),
            )
        )
    if filters.statuses:
        query = query.where(message_templates.c.status.in_(filters.statuses))
    if filters.categories:
        query = query.where(message_templates.c.category.in_(filters.categories))
    if filters.languages:
        query = query.where(message_templates.c.language.in_(filters.languages))
    if filters.quality_scores:
        query = query.where(message_templates.c.quality_score.in_(filters.quality_scores))
    return query


def list_templates(
    conn: Connection,
    waba_id: int,
    filters: TemplateFilters,
    limit: int,
    after: int | None = None,
    before: int | None = None,
) -> tuple[list[TemplateRow], bool, bool]:
    """Newest first, keyset-paged by id: (rows, has_older, has_newer)."""
    query = _filtered(waba_id, filters)
    if before is not None:
        # The page just newer than `before`: read upwards, then turn it around.
        rows = [
            _row(r)
            for r in conn.execute(
                query.where(message_templates.c.id > before).order_by(message_templates.c.id.asc()).limit(limit + 1)
            )
        ]
        has_newer = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        has_older = True
        return rows, has_older, has_newer
    if after is not None:
        query = query.where(message_templates.c.id < after)
    rows = [_row(r) for r in conn.execute(query.order_by(message_templates.c.id.desc()).limit(limit + 1))]
    has_older = len(rows) > limit
    rows = rows[:limit]
    has_newer = after is not None and bool(rows)
    return rows, has_older, has_newer


def count_filtered(conn: Connection, waba_id: int, filters: TemplateFilters) -> int:
    query = _filtered(waba_id, filters).with_only_columns(func.count())
    return int(conn.execute(query).scalar_one())


def due_for_review(conn: Connection, now: int, limit: int) -> list[int]:
    return [
        r.id
        for r in conn.execute(
            select(message_templates.c.id)
            .where(message_templates.c.review_due_at.is_not(None), message_templates.c.review_due_at <= now)
            .order_by(message_templates.c.review_due_at)
            .limit(limit)
        )
    ]


def due_for_unpause(conn: Connection, now: int, limit: int) -> list[int]:
    return [
        r.id
        for r in conn.execute(
            select(message_templates.c.id)
            .where(message_templates.c.paused_until.is_not(None), message_templates.c.paused_until <= now)
            .order_by(message_templates.c.paused_until)
            .limit(limit)
        )
    ]


def next_due_at(conn: Connection) -> int | None:
    """The earliest review or un-pause time, if any (lets the loop sleep until then)."""
    review = conn.execute(select(func.min(message_templates.c.review_due_at))).scalar_one()
    unpause = conn.execute(select(func.min(message_templates.c.paused_until))).scalar_one()
    times = [t for t in (review, unpause) if t is not None]
    return min(times) if times else None


def creations_in_last_hour(conn: Connection, waba_id: int, now: int) -> int:
    return int(
        conn.execute(
            select(func.count()).where(
                template_creations.c.waba_id == waba_id, template_creations.c.created_at > now - HOUR_MS
            )
        ).scalar_one()
    )


def log_creation(conn: Connection, creation_id: int, waba_id: int, now: int) -> None:
    # Forget this WABA's creations older than the hour while here: the log stays at most ~100 rows per WABA.
    conn.execute(
        delete(template_creations).where(
            and_(template_creations.c.waba_id == waba_id, template_creations.c.created_at <= now - HOUR_MS)
        )
    )
    conn.execute(insert(template_creations).values(id=creation_id, waba_id=waba_id, created_at=now))


def bump_stats(conn: Connection, template_id: int, now: int, *, sends: int = 0, negatives: int = 0) -> None:
    """Count a send or a negative signal in today's bucket (an upsert: safe under concurrent senders)."""
    day = now // DAY_MS
    values = {"template_id": template_id, "day": day, "sends": sends, "negatives": negatives}
    dialect = conn.dialect.name
    if dialect == "postgresql":
        pg = postgresql.insert(template_daily_stats).values(**values)
        conn.execute(
            pg.on_conflict_do_update(
                index_elements=["template_id", "day"],
                set_={
                    "sends": template_daily_stats.c.sends + sends,
                    "negatives": template_daily_stats.c.negatives + negatives,
                },
            )
        )
        return
    lite = sqlite.insert(template_daily_stats).values(**values)
    conn.execute(
        lite.on_conflict_do_update(
            index_elements=["template_id", "day"],
            set_={
                "sends": template_daily_stats.c.sends + sends,
                "negatives": template_daily_stats.c.negatives + negatives,
            },
        )
    )


def window_totals(conn: Connection, template_id: int, now: int, days: int) -> tuple[int, int]:
    """(sends, negatives) of the last `days` UTC days including today: at most `days` rows read."""
    first_day = now // DAY_MS - (days - 1)
    sends, negatives = conn.execute(
        select(
            func.coalesce(func.sum(template_daily_stats.c.sends), 0),
            func.coalesce(func.sum(template_daily_stats.c.negatives), 0),
        ).where(template_daily_stats.c.template_id == template_id, template_daily_stats.c.day >= first_day)
    ).one()
    return int(sends), int(negatives)
