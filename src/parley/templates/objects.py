"""A template as a Graph object (`GET /{template-id}`, items of `GET /{waba-id}/message_templates`)."""

from __future__ import annotations

from typing import Any

from parley.graph import FieldSpec, GraphError
from parley.templates.repository import TemplateRow

DEFAULT_FIELDS = ("name", "parameter_format", "components", "language", "status", "category", "id")
# Fields Meta has on the node that Parley does not keep: asking for them is fine, they are just absent.
ABSENT_FIELDS = frozenset(
    {"library_template_name", "cta_url_link_tracking_opted_out", "degrees_of_freedom_spec", "is_primary_device"}
)


def _value(row: TemplateRow, name: str) -> tuple[bool, Any]:
    """(present, value) of one field."""
    if name == "id":
        return True, str(row.id)
    if name in ("name", "language", "status", "category", "parameter_format", "rejected_reason"):
        return True, getattr(row, name)
    if name == "components":
        return True, row.components
    if name in ("previous_category", "correct_category", "sub_category", "message_send_ttl_seconds"):
        value = getattr(row, name)
        return value is not None, value
    if name == "quality_score":
        date_ms = row.quality_updated_at or row.created_at
        return True, {"score": row.quality_score, "date": date_ms // 1000}
    if name in ABSENT_FIELDS:
        return False, None
    raise GraphError(100, f"Tried accessing nonexisting field ({name}) on node type (WhatsAppMessageTemplate)")


def _select_subfields(value: Any, subfields: tuple[FieldSpec, ...]) -> Any:
    if not subfields:
        return value
    keep = {s.name for s in subfields}
    if isinstance(value, list):
        return [{k: v for k, v in item.items() if k in keep} if isinstance(item, dict) else item for item in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k in keep}
    return value


def template_object(row: TemplateRow, fields: list[FieldSpec]) -> dict[str, Any]:
    """The fields asked for (Meta's default set when none), always with the id."""
    specs = fields or [FieldSpec(name) for name in DEFAULT_FIELDS]
    out: dict[str, Any] = {}
    for spec in specs:
        present, value = _value(row, spec.name)
        if present:
            out[spec.name] = _select_subfields(value, spec.subfields)
    out.setdefault("id", str(row.id))
    return out


def check_fields(fields: list[FieldSpec]) -> None:
    """Refuse unknown fields before any work is done."""
    for spec in fields:
        if spec.name not in ABSENT_FIELDS and spec.name not in _KNOWN:
            raise GraphError(
                100, f"Tried accessing nonexisting field ({spec.name}) on node type (WhatsAppMessageTemplate)"
            )


_KNOWN = frozenset(
    {
        "id", "name", "language", "status", "category", "parameter_format", "rejected_reason", "components",
        "previous_category", "correct_category", "sub_category", "message_send_ttl_seconds", "quality_score",
    }
)  # fmt: skip
