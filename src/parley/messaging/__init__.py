"""Messaging: chats, groups, messages, receipts, and each device's realtime stream."""

from parley.messaging.service import MessagingService, render_message, user_topic

__all__ = ["MessagingService", "render_message", "user_topic"]
