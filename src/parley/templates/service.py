"""Message templates: create, list, edit, delete; the asynchronous review; quality and the pause ladder.

Review: a created or edited template is PENDING with `review_due_at = now + review_delay_s`; the review loop
(every serving process runs one; a compare-and-set on the row makes each decision happen, and be reported,
exactly once) decides it with `rules.review` and, in the same write unit, enqueues the webhooks:
`message_template_status_update` (APPROVED | REJECTED) and, when the review re-categorised the template,
`template_category_update`.

Quality (rules in `rules.quality_score`): the caller's write units report sends (`record_sent`) and negative
signals (`record_negative_feedback`: a person blocked or reported the business after this template); every
change of the rating sends `message_template_quality_update`. A negative signal that leaves an APPROVED
template RED moves it down Meta's ladder: PAUSED 3 h, then PAUSED 6 h, then DISABLED, each with a
`message_template_status_update` (`other_info.title` FIRST_PAUSE / SECOND_PAUSE, `disable_info.disable_date`).
A pause ends by itself when `paused_until` passes (or by `POST /{template-id}/unpause` after 5 minutes): the
template is APPROVED again and the webhook says so as Meta does, `event: "APPROVED"` with
`other_info.title: "UNPAUSE"` (pywa has no UNPAUSED status). The business may also pause an approved template
itself (`pause`, the console's button): such a pause has no end of its own and `unpause` ends it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import functools
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from parley.config import TemplateSettings
from parley.graph import FieldSpec, GraphError, GraphScope, object_not_found
from parley.kit.clock import Clock
from parley.kit.ids import EPOCH_MS, IdGenerator
from parley.platform.db import Database
from parley.platform.db.driver import DriverCursor
from parley.templates import repository as repo
from parley.templates import rules
from parley.templates import statements as hot
from parley.templates.cache import TemplateCache
from parley.templates.objects import check_fields, template_object
from parley.templates.rendering import RenderedTemplate, StoredTemplate, render
from parley.webhooks import enqueue

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
EDIT_WINDOW_MS = 30 * DAY_MS
EDITS_PER_WINDOW = 10
UNPAUSE_WAIT_MS = 5 * 60_000
REVIEW_BATCH = 100
EDITABLE = (rules.APPROVED, rules.REJECTED, rules.PAUSED)
# Meta's subcode for "Content in this language already exists".
SUBCODE_DUPLICATE = 2388024

STATUS_FIELD = "message_template_status_update"
CATEGORY_FIELD = "template_category_update"
QUALITY_FIELD = "message_template_quality_update"
COMPONENTS_FIELD = "message_template_components_update"


@dataclass(frozen=True)
class TemplatePage:
    data: list[dict[str, Any]]
    first_id: int | None
    last_id: int | None
    has_next: bool
    has_previous: bool
    summary: dict[str, Any] | None


def _stored(row: repo.TemplateRow) -> StoredTemplate:
    return StoredTemplate(row.id, row.name, row.language, row.category, row.parameter_format, row.components)


def resolve_for_send(
    conn: Connection,
    waba_id: int,
    name: str,
    language_code: str,
    components: list[dict[str, Any]],
    cache: TemplateCache | None = None,
) -> RenderedTemplate:
    """The approved template `name` in `language_code`, rendered with the send request's components.

    One indexed lookup; runs inside the caller's write unit. Refusals are GraphErrors with Meta's codes:
    132001 unknown or not approved, 132015 paused, 132016 disabled, and rendering's 132000 / 132012 / 132005.
    """
    if cache is None:
        row = repo.find_template(conn, waba_id, name, language_code)
    else:
        row = cache.find_in(conn, waba_id, name, language_code)
    if row is None:
        raise GraphError(132001, f"template name ({name}) does not exist in {language_code}")
    if row.status == rules.PAUSED:
        why = "by the business" if paused_by_business(row) else "because of low quality"
        raise GraphError(132015, f"template {name} ({language_code}) is paused {why}")
    if row.status == rules.DISABLED:
        raise GraphError(132016, f"template {name} ({language_code}) is disabled because of low quality")
    if row.status != rules.APPROVED:
        raise GraphError(
            132001, f"template {name} ({language_code}) is not approved (status {row.status}): it cannot be sent"
        )
    return dataclasses.replace(render(_stored(row), components), quality_score=row.quality_score)


def paused_by_business(row: repo.TemplateRow) -> bool:
    """A PAUSED template the business paused itself: quality pauses always have an end (`paused_until`)."""
    return row.status == rules.PAUSED and row.paused_until is None


def _iso(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC).strftime("%b %d at %H:%M UTC")


def _status_value(
    row: repo.TemplateRow, event: str, *, reason: str = rules.NONE, category: str | None = None
) -> dict[str, Any]:
    return {
        "event": event,
        "message_template_id": row.id,
        "message_template_name": row.name,
        "message_template_language": row.language,
        "message_template_category": category or row.category,
        "reason": reason,
    }


def _components_value(row: repo.TemplateRow, components: list[dict[str, Any]]) -> dict[str, Any]:
    value: dict[str, Any] = {
        "message_template_id": row.id,
        "message_template_name": row.name,
        "message_template_language": row.language,
    }
    for component in components:
        kind = component.get("type")
        if kind == "BODY" and isinstance(component.get("text"), str):
            value["message_template_element"] = component["text"]
        elif kind == "HEADER" and isinstance(component.get("text"), str):
            value["message_template_title"] = component["text"]
        elif kind == "FOOTER" and isinstance(component.get("text"), str):
            value["message_template_footer"] = component["text"]
        elif kind == "BUTTONS":
            buttons = []
            for button in component.get("buttons") or []:
                item = {"message_template_button_type": button.get("type")}
                for key in ("text", "url", "phone_number"):
                    if isinstance(button.get(key), str):
                        item[f"message_template_button_{key}"] = button[key]
                buttons.append(item)
            value["message_template_buttons"] = buttons
    return value


class _EventIds:
    """Event ids for callers that pass no IdGenerator: Snowflake ids dated by the caller's own `now`.

    The webhook outbox dates an event by its id, so it must follow the caller's injected clock (tests travel in
    time); the process id fills the node bits like IdGenerator's, a per-millisecond sequence the rest.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sequences: OrderedDict[int, int] = OrderedDict()
        self._node = (os.getpid() & 0x3FF) ^ 0x200  # never the IdGenerator node of this process

    def next_id(self, now: int) -> int:
        with self._lock:
            sequence = self._sequences.pop(now, -1) + 1
            self._sequences[now] = sequence
            while len(self._sequences) > 4096:
                self._sequences.popitem(last=False)
        return ((now - EPOCH_MS) << 22) | (self._node << 12) | (sequence & 0xFFF)


_event_ids = _EventIds()


def _id_source(ids: IdGenerator | None, now: int) -> Callable[[], int]:
    if ids is not None:
        return ids.next_id
    return lambda: _event_ids.next_id(now)


def record_sent(
    conn: Connection,
    template_id: int,
    now: int,
    ids: IdGenerator | None = None,
    *,
    quality_score: str | None = None,
) -> None:
    """Count one sent template message; inside the send path's write unit (one upsert).

    `quality_score`: the template's rating as the unit already read it (`RenderedTemplate.quality_score`);
    without it the row is read again.
    """
    # On the driver's cursor: this runs in every template send's unit (statements.py).
    hot.bump_sends(DriverCursor(conn), template_id, now)
    if quality_score is None:
        row = repo.get_template(conn, template_id)
        quality_score = None if row is None else row.quality_score
    # More sends can only make a rating better: a GREEN template has nothing to re-evaluate (the hot path).
    if quality_score is not None and quality_score != "GREEN":
        _evaluate_quality(conn, template_id, now, negative=False, next_id=_id_source(ids, now))


def record_negative_feedback(conn: Connection, template_id: int, now: int, ids: IdGenerator | None = None) -> None:
    """Count a block or report by a person whose last template from the business was this one."""
    repo.bump_stats(conn, template_id, now, negatives=1)
    _evaluate_quality(conn, template_id, now, negative=True, next_id=_id_source(ids, now))


def _evaluate_quality(
    conn: Connection, template_id: int, now: int, *, negative: bool, next_id: Callable[[], int]
) -> None:
    row = repo.get_template(conn, template_id)
    if row is None:
        return
    sends, negatives = repo.window_totals(conn, template_id, now, rules.QUALITY_WINDOW_DAYS)
    score = rules.quality_score(sends, negatives)
    values: dict[str, Any] = {}
    events: list[tuple[str, dict[str, Any]]] = []
    if score != row.quality_score:
        values.update(quality_score=score, quality_updated_at=now)
        events.append(
            (
                QUALITY_FIELD,
                {
                    "previous_quality_score": row.quality_score,
                    "new_quality_score": score,
                    "message_template_id": row.id,
                    "message_template_name": row.name,
                    "message_template_language": row.language,
                },
            )
        )
    if negative and score == "RED" and row.status == rules.APPROVED:
        status, hours = rules.pause_step(row.pause_count)
        values.update(status=status, pause_count=row.pause_count + 1, updated_at=now)
        value = _status_value(row, status)
        if status == rules.PAUSED and hours is not None:
            until = now + hours * HOUR_MS
            values.update(paused_at=now, paused_until=until)
            value["other_info"] = {
                "title": "FIRST_PAUSE" if row.pause_count == 0 else "SECOND_PAUSE",
                "description": f"Your message template has been paused for {hours} hours until {_iso(until)} "
                "because of negative feedback from the people who received it.",
            }
        else:
            values.update(paused_until=None)
            value["disable_info"] = {"disable_date": now // 1000}
        events.append((STATUS_FIELD, value))
    if not values:
        return
    # Compare-and-set: a concurrent unit that already moved this template reports its own change, not ours.
    if repo.update_template(conn, template_id, values, status=row.status, quality_score=row.quality_score):
        for field, event in events:
            enqueue(conn, waba_id=row.waba_id, field=field, value=event, event_id=next_id())


class TemplateService:
    def __init__(self, db: Database, clock: Clock, ids: IdGenerator, settings: TemplateSettings) -> None:
        self._db, self._clock, self._ids = db, clock, ids
        self._settings = settings
        self._task: asyncio.Task[None] | None = None

    # -- the review loop ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="parley-template-review")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.review_due_now()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failing pass must not stop the reviews of the next one
                log.exception("template review pass failed")
            await asyncio.sleep(self._settings.review_poll_s)

    async def review_due_now(self) -> int:
        """One pass: decide every template whose review is due and end every pause that has run out.

        Returns how many templates changed state (tests drive the review with this and the injected clock).
        """
        now = self._clock.now_ms()
        due, expired = await self._db.read(
            lambda conn: (repo.due_for_review(conn, now, REVIEW_BATCH), repo.due_for_unpause(conn, now, REVIEW_BATCH))
        )
        changed = 0
        for template_id in due:
            if await self._db.write(
                "templates.review_due_now", functools.partial(self._decide, template_id=template_id, now=now)
            ):
                changed += 1
        for template_id in expired:
            if await self._db.write(
                "templates.review_due_now",
                functools.partial(self._end_pause, template_id=template_id, now=now, why="expired"),
            ):
                changed += 1
        return changed

    def _enqueue(self, conn: Connection, waba_id: int, field: str, value: dict[str, Any]) -> None:
        enqueue(conn, waba_id=waba_id, field=field, value=value, event_id=self._ids.next_id())

    def _decide(self, conn: Connection, template_id: int, now: int) -> bool:
        row = repo.get_template(conn, template_id)
        if row is None or row.status != rules.PENDING or row.review_due_at is None or row.review_due_at > now:
            return False
        decision = rules.review(
            rules.Submission(
                row.name, row.language, row.category, row.parameter_format, row.components,
                row.message_send_ttl_seconds,
            )
        )  # fmt: skip
        values: dict[str, Any] = {
            "status": decision.status,
            "rejected_reason": decision.reason,
            "review_message": decision.message,
            "review_due_at": None,
            "updated_at": now,
        }
        recategorised = decision.status == rules.APPROVED and decision.category != row.category
        if recategorised:
            values["category"] = decision.category
            values["previous_category"] = row.category
        # Compare-and-set: another process deciding the same template at the same time changes nothing twice.
        if not repo.update_template(conn, template_id, values, status=rules.PENDING, review_due_at=row.review_due_at):
            return False
        status_value = _status_value(row, decision.status, reason=decision.reason, category=decision.category)
        if decision.status == rules.REJECTED:
            status_value["rejection_info"] = {
                "reason": decision.message,
                "recommendation": "Edit the template so that it follows the rule above, then it is reviewed again.",
            }
        self._enqueue(conn, row.waba_id, STATUS_FIELD, status_value)
        if recategorised:
            self._enqueue(
                conn,
                row.waba_id,
                CATEGORY_FIELD,
                {
                    "message_template_id": row.id,
                    "message_template_name": row.name,
                    "message_template_language": row.language,
                    "previous_category": row.category,
                    "new_category": decision.category,
                },
            )
        return True

    def _end_pause(self, conn: Connection, template_id: int, now: int, why: str) -> bool:
        row = repo.get_template(conn, template_id)
        if row is None or row.status != rules.PAUSED:
            return False
        if why == "expired" and (row.paused_until is None or row.paused_until > now):
            return False
        values = {"status": rules.APPROVED, "paused_until": None, "updated_at": now}
        if not repo.update_template(conn, template_id, values, status=rules.PAUSED, paused_until=row.paused_until):
            return False
        value = _status_value(row, rules.APPROVED)
        value["other_info"] = {
            "title": "UNPAUSE",
            "description": "Your message template has been unpaused"
            + (" because its pause period ended." if why == "expired" else " at your request."),
        }
        self._enqueue(conn, row.waba_id, STATUS_FIELD, value)
        return True

    # -- management (Graph) ------------------------------------------------------------------------------------

    async def create(self, scope: GraphScope, body: object) -> dict[str, Any]:
        """`POST /{waba-id}/message_templates`: stored PENDING, decided later by the review loop."""
        submission = rules.parse_submission(body)
        now = self._clock.now_ms()
        template_id = self._ids.next_id()
        creation_id = self._ids.next_id()
        waba_id = scope.waba_id
        settings = self._settings

        def unit(conn: Connection) -> None:
            if repo.find_template(conn, waba_id, submission.name, submission.language) is not None:
                raise self._duplicate(submission)
            if (
                not repo.name_exists(conn, waba_id, submission.name)
                and repo.count_names(conn, waba_id) >= settings.max_names_per_waba
            ):
                raise GraphError(
                    100,
                    f"this WhatsApp Business Account has reached its limit of {settings.max_names_per_waba} "
                    "message templates: delete some before creating new ones",
                )
            if repo.creations_in_last_hour(conn, waba_id, now) >= settings.max_creations_per_hour:
                raise GraphError(
                    100,
                    f"at most {settings.max_creations_per_hour} message templates can be created per WhatsApp "
                    "Business Account per hour: try again later",
                )
            repo.log_creation(conn, creation_id, waba_id, now)
            try:
                repo.insert_template(
                    conn,
                    {
                        "id": template_id,
                        "waba_id": waba_id,
                        "name": submission.name,
                        "language": submission.language,
                        "category": submission.category,
                        "parameter_format": submission.parameter_format,
                        "components": repo.dump_components(submission.components),
                        "message_send_ttl_seconds": submission.message_send_ttl_seconds,
                        "status": rules.PENDING,
                        "rejected_reason": rules.NONE,
                        "quality_score": "UNKNOWN",
                        "review_due_at": now + self._review_delay_ms(),
                        "created_at": now,
                        "updated_at": now,
                    },
                )
            except IntegrityError as error:  # the same name + language created concurrently
                raise self._duplicate(submission) from error

        await self._db.write("templates.create", unit)
        return {"id": str(template_id), "status": rules.PENDING, "category": submission.category}

    @staticmethod
    def _duplicate(submission: rules.Submission) -> GraphError:
        return GraphError(
            100,
            f"Content in this language already exists: there is already {submission.language} content for "
            f"template {submission.name!r}. Create a new template or edit the existing one.",
            subcode=SUBCODE_DUPLICATE,
        )

    def _review_delay_ms(self) -> int:
        return int(self._settings.review_delay_s * 1000)

    async def list_templates(
        self,
        scope: GraphScope,
        fields: list[FieldSpec],
        filters: repo.TemplateFilters,
        limit: int,
        after: int | None = None,
        before: int | None = None,
        summary: bool = False,
    ) -> TemplatePage:
        """`GET /{waba-id}/message_templates`: newest first, keyset-paged."""
        check_fields(fields)
        waba_id = scope.waba_id

        def unit(conn: Connection) -> tuple[list[repo.TemplateRow], bool, bool, dict[str, Any] | None]:
            rows, has_older, has_newer = repo.list_templates(conn, waba_id, filters, limit, after, before)
            counts = None
            if summary:
                total = repo.count_templates(conn, waba_id)
                counts = {
                    "total_count": repo.count_filtered(conn, waba_id, filters),
                    "message_template_count": total,
                    "message_template_limit": self._settings.max_names_per_waba,
                    "are_translations_complete": True,
                }
            return rows, has_older, has_newer, counts

        rows, has_older, has_newer, counts = await self._db.read(unit)
        return TemplatePage(
            data=[template_object(row, fields) for row in rows],
            first_id=rows[0].id if rows else None,
            last_id=rows[-1].id if rows else None,
            has_next=has_older,
            has_previous=has_newer,
            summary=counts,
        )

    async def _row_in_scope(self, scope: GraphScope, template_id: int, verb: str = "get") -> repo.TemplateRow:
        row = await self._db.read(lambda conn: repo.get_template(conn, template_id))
        if row is None or row.waba_id != scope.waba_id:
            raise object_not_found(template_id, verb)
        return row

    async def get(self, scope: GraphScope, template_id: int, fields: list[FieldSpec]) -> dict[str, Any]:
        check_fields(fields)
        return template_object(await self._row_in_scope(scope, template_id), fields)

    async def get_object(self, scope: GraphScope, object_id: int, fields: list[FieldSpec]) -> dict[str, Any] | None:
        """For the `GET /{object-id}` dispatcher: None when no WABA has a template with this id."""
        row = await self._db.read(lambda conn: repo.get_template(conn, object_id))
        if row is None:
            return None
        if row.waba_id != scope.waba_id:
            raise object_not_found(object_id)
        check_fields(fields)
        return template_object(row, fields)

    async def edit_object(self, scope: GraphScope, object_id: int, body: object) -> dict[str, Any] | None:
        """For the `POST /{object-id}` dispatcher: None when no WABA has a template with this id."""
        exists = await self._db.read(lambda conn: repo.get_template(conn, object_id) is not None)
        if not exists:
            return None
        return await self.edit(scope, object_id, body)

    async def edit(self, scope: GraphScope, template_id: int, body: object) -> dict[str, Any]:
        """`POST /{template-id}`: Meta's edit rules; the edited template goes back to review."""
        await self._row_in_scope(scope, template_id, "post")  # another business's template: not even parsed
        request = rules.parse_edit(body)
        now = self._clock.now_ms()
        waba_id = scope.waba_id
        result: dict[str, Any] = {}

        def unit(conn: Connection) -> None:
            row = repo.get_template(conn, template_id)
            if row is None or row.waba_id != waba_id:
                raise object_not_found(template_id, "post")
            if row.status not in EDITABLE:
                raise GraphError(
                    100, f"a template can be edited only when APPROVED, REJECTED or PAUSED; this one is {row.status}"
                )
            if (request.name is not None and request.name != row.name) or (
                request.language is not None and request.language != row.language
            ):
                raise GraphError(100, "the name and language of a template cannot be edited")
            if request.category is not None and request.category != row.category and row.status == rules.APPROVED:
                raise GraphError(100, "the category of an approved template cannot be edited")
            values: dict[str, Any] = {
                "status": rules.PENDING,
                "rejected_reason": rules.NONE,
                "review_message": None,
                "review_due_at": now + self._review_delay_ms(),
                "paused_until": None,
                "updated_at": now,
            }
            if row.status == rules.APPROVED:
                # Meta: an approved template can be edited once per 24 hours and 10 times per 30 days.
                if row.last_edited_at is not None and now - row.last_edited_at < DAY_MS:
                    raise GraphError(100, "an approved template can be edited once in 24 hours: try again later")
                window_start, count = row.edit_window_start, row.edit_count
                if window_start is None or now - window_start >= EDIT_WINDOW_MS:
                    window_start, count = now, 0
                if count >= EDITS_PER_WINDOW:
                    raise GraphError(100, "an approved template can be edited 10 times in 30 days: try again later")
                values.update(edit_window_start=window_start, edit_count=count + 1, last_edited_at=now)
            components = request.components if request.components is not None else row.components
            if request.components is not None:
                values["components"] = repo.dump_components(request.components)
            if request.category is not None:
                values["category"] = request.category
            if request.parameter_format is not None:
                values["parameter_format"] = request.parameter_format
            if request.message_send_ttl_seconds is not None:
                values["message_send_ttl_seconds"] = request.message_send_ttl_seconds
            if not repo.update_template(conn, template_id, values, status=row.status, updated_at=row.updated_at):
                raise GraphError(2, "the template changed while it was being edited: try again", http_status=503)
            if request.components is not None:
                self._enqueue(conn, row.waba_id, COMPONENTS_FIELD, _components_value(row, components))
            result.update(success=True, id=str(row.id), name=row.name, category=values.get("category", row.category))

        await self._db.write("templates.edit", unit)
        return result

    async def delete(self, scope: GraphScope, name: str | None, hsm_id: int | None = None) -> dict[str, Any]:
        """`DELETE /{waba-id}/message_templates?name=...[&hsm_id=...]`: every language of the name, or one."""
        if not name:
            raise GraphError(100, "name is required: the name of the template to delete")
        waba_id = scope.waba_id

        def unit(conn: Connection) -> None:
            if hsm_id is not None:
                row = repo.get_template(conn, hsm_id)
                if row is None or row.waba_id != waba_id or row.name != name:
                    raise GraphError(100, f"no message template {name!r} with id {hsm_id} in this account")
                repo.delete_templates(conn, [row.id])
                return
            rows = repo.templates_named(conn, waba_id, name)
            if not rows:
                raise GraphError(100, f"no message template named {name!r} in this account")
            repo.delete_templates(conn, [r.id for r in rows])

        await self._db.write("templates.delete", unit)
        return {"success": True}

    async def unpause(self, scope: GraphScope, template_id: int) -> dict[str, Any]:
        """`POST /{template-id}/unpause`: a paused template is approved again (5 minutes after its pause)."""
        now = self._clock.now_ms()
        waba_id = scope.waba_id

        def unit(conn: Connection) -> dict[str, Any]:
            row = repo.get_template(conn, template_id)
            if row is None or row.waba_id != waba_id:
                raise object_not_found(template_id, "post")
            if row.status != rules.PAUSED:
                return {"success": False, "reason": f"the template is not paused (status {row.status})"}
            # The 5-minute wait is Meta's for a quality pause; a pause the business made itself ends at once.
            if not paused_by_business(row) and row.paused_at is not None and now - row.paused_at < UNPAUSE_WAIT_MS:
                return {"success": False, "reason": "a template can be unpaused 5 minutes after it was paused"}
            if not self._end_pause(conn, template_id, now, "request"):
                return {"success": False, "reason": "the template is not paused"}
            return {"success": True}

        return await self._db.write("templates.unpause", unit)

    async def pause(self, scope: GraphScope, template_id: int) -> dict[str, Any]:
        """The business pauses its own approved template (the console's button; Meta's Graph API has none).

        Such a pause has no end (`paused_until` stays empty, so the review loop leaves it alone) and no
        5-minute wait: `unpause` ends it. Sends are refused meanwhile, as for a quality pause.
        """
        now = self._clock.now_ms()
        waba_id = scope.waba_id

        def unit(conn: Connection) -> dict[str, Any]:
            row = repo.get_template(conn, template_id)
            if row is None or row.waba_id != waba_id:
                raise object_not_found(template_id, "post")
            if row.status != rules.APPROVED:
                raise GraphError(100, f"only an APPROVED template can be paused; this one is {row.status}")
            values = {"status": rules.PAUSED, "paused_at": None, "paused_until": None, "updated_at": now}
            if not repo.update_template(conn, template_id, values, status=rules.APPROVED, updated_at=row.updated_at):
                raise GraphError(2, "the template changed while it was being paused: try again", http_status=503)
            value = _status_value(row, rules.PAUSED)
            value["other_info"] = {
                "title": "BUSINESS_PAUSE",
                "description": "Your message template has been paused at your request until you unpause it.",
            }
            self._enqueue(conn, row.waba_id, STATUS_FIELD, value)
            return {"success": True}

        return await self._db.write("templates.pause", unit)

    async def rows(
        self, scope: GraphScope, filters: repo.TemplateFilters, limit: int, after: int | None = None
    ) -> tuple[list[repo.TemplateRow], bool]:
        """The business's templates as stored (newest first, keyset-paged), for its own console: (rows, more)."""
        rows, has_older, _ = await self._db.read(
            lambda conn: repo.list_templates(conn, scope.waba_id, filters, limit, after)
        )
        return rows, has_older

    async def row(self, scope: GraphScope, template_id: int) -> repo.TemplateRow:
        """One template of the business as stored; Graph's not-found error for anyone else's."""
        return await self._row_in_scope(scope, template_id)

    # -- quality (sync: inside the caller's write unit) --------------------------------------------------------

    def record_sent(self, conn: Connection, template_id: int, now: int) -> None:
        record_sent(conn, template_id, now, self._ids)

    def record_negative_feedback(self, conn: Connection, template_id: int, now: int) -> None:
        record_negative_feedback(conn, template_id, now, self._ids)

    # -- send time ---------------------------------------------------------------------------------------------

    @staticmethod
    def resolve_for_send(
        conn: Connection, waba_id: int, name: str, language_code: str, components: list[dict[str, Any]]
    ) -> RenderedTemplate:
        return resolve_for_send(conn, waba_id, name, language_code, components)


def approved_for_inbox(conn: Connection, waba_id: int) -> list[dict[str, Any]]:
    """Approved templates as the team inbox offers them: the body text and its variables, in order."""
    rows, _, _ = repo.list_templates(conn, waba_id, repo.TemplateFilters(statuses=("APPROVED",)), 250)
    out = []
    for row in rows:
        body = next((c for c in row.components if str(c.get("type", "")).upper() == "BODY"), {})
        text = str(body.get("text", ""))
        names = rules.distinct_variables(text)
        out.append(
            {
                "name": row.name,
                "language": row.language,
                "category": row.category,
                "body": text,
                "variables": len(names),
                "variable_names": names,
                "examples": _body_examples(body, names, row.parameter_format),
                "parameter_format": row.parameter_format,
            }
        )
    return out


def _body_examples(body: dict[str, Any], names: list[str], parameter_format: str) -> list[str]:
    """The body's sample values in the order of `names` (what the inbox prefills the variables with)."""
    raw = body.get("example")
    example: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if parameter_format == "NAMED":
        given = {
            str(item.get("param_name")): str(item.get("example", ""))
            for item in example.get("body_text_named_params") or []
            if isinstance(item, dict)
        }
        return [given.get(name, "") for name in names]
    rows = example.get("body_text")
    first = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], list) else []
    return [str(first[i]) if i < len(first) else "" for i in range(len(names))]
