"""Business accounts (WABAs), their numbers, tokens, profiles, and the Cloud-API send and receive paths."""

from parley.business.observers import API, ConversationMessage, ConversationObserver, SentBy
from parley.business.policy import CSW_MS
from parley.business.repository import ConversationRow, NumberChangeRow, NumberRow
from parley.business.scope import GraphScope
from parley.business.service import NumberStanding
from parley.business.wamid import parse_wamid

__all__ = [
    "API",
    "CSW_MS",
    "ConversationMessage",
    "ConversationObserver",
    "ConversationRow",
    "GraphScope",
    "NumberChangeRow",
    "NumberRow",
    "NumberStanding",
    "SentBy",
    "parse_wamid",
]
