"""Webhooks: the outbox other domains write updates to, and their signed, ordered, at-least-once delivery."""

from parley.webhooks.repository import DeliveryLogEntry, WebhookEventRow, enqueue, list_events, register_app
from parley.webhooks.service import WebhookService

__all__ = ["DeliveryLogEntry", "WebhookEventRow", "WebhookService", "enqueue", "list_events", "register_app"]
