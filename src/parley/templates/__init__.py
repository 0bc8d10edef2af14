"""Message templates: submission and asynchronous review, quality and pauses, send-time rendering."""

from parley.templates.rendering import RenderedTemplate
from parley.templates.repository import TemplateFilters
from parley.templates.service import (
    TemplatePage,
    TemplateService,
    approved_for_inbox,
    record_negative_feedback,
    record_sent,
    resolve_for_send,
)

__all__ = [
    "RenderedTemplate",
    "TemplateFilters",
    "TemplatePage",
    "TemplateService",
    "approved_for_inbox",
    "record_negative_feedback",
    "record_sent",
    "resolve_for_send",
]
