"""Message templates: submission and asynchronous review, quality and pauses, send-time rendering."""

from parley.templates.cache import TemplateCache
from parley.templates.rendering import RenderedTemplate
from parley.templates.repository import TemplateFilters, TemplateRow
from parley.templates.rules import LANGUAGES
from parley.templates.service import (
    TemplatePage,
    TemplateService,
    approved_for_inbox,
    paused_by_business,
    record_negative_feedback,
    record_sent,
    resolve_for_send,
)

__all__ = [
    "LANGUAGES",
    "RenderedTemplate",
    "TemplateCache",
    "TemplateFilters",
    "TemplatePage",
    "TemplateRow",
    "TemplateService",
    "approved_for_inbox",
    "paused_by_business",
    "record_negative_feedback",
    "record_sent",
    "resolve_for_send",
]
