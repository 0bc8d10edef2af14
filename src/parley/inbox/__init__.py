"""The team inbox: agents, routing, labels, notes, quick replies, business hours, contacts, reports."""

from parley.inbox.commerce import InboxCommerce
from parley.inbox.cookies import (
    LOGIN_FORM_COOKIE,
    SESSION_COOKIE,
    CsrfError,
    forget_login_form_cookie,
    login_form_cookie,
    new_login_form_token,
    same_token,
    session_cookie,
)
from parley.inbox.personal_data import (  # rights
    erase_person_in,
)
from parley.inbox.service import AgentContext, InboxService, SignedIn

__all__ = [
    "LOGIN_FORM_COOKIE",
    "SESSION_COOKIE",
    "AgentContext",
    "CsrfError",
    "InboxCommerce",
    "InboxService",
    "SignedIn",
    "erase_person_in",  # rights
    "forget_login_form_cookie",
    "login_form_cookie",
    "new_login_form_token",
    "same_token",
    "session_cookie",
]
