"""The team inbox: agents, routing, labels, notes, quick replies, business hours, contacts, reports."""

from parley.inbox.cookies import SESSION_COOKIE, session_cookie
from parley.inbox.service import AgentContext, InboxService, SignedIn

__all__ = ["SESSION_COOKIE", "AgentContext", "InboxService", "SignedIn", "session_cookie"]
