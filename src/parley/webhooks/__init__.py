"""Webhooks: the outbox other domains write updates to, and their signed, at-least-once delivery (each event on
its own; a message's statuses in order) to callbacks on permitted addresses."""

from parley.webhooks.models import TEST_FIELD
from parley.webhooks.personal_data import erase_person_in  # rights
from parley.webhooks.repository import DeliveryLogEntry, WebhookEventRow, enqueue, list_events, register_app
from parley.webhooks.service import WebhookService

__all__ = [
    "TEST_FIELD",
    "DeliveryLogEntry",
    "WebhookEventRow",
    "WebhookService",
    "enqueue",
    "erase_person_in",  # rights
    "list_events",
    "register_app",
]
