"""Business accounts (WABAs), their numbers, tokens, profiles, and the Cloud-API send and receive paths."""

from parley.business.accounts import BusinessAccounts, CreatedBusiness, InboxBusiness, NumberStanding
from parley.business.bridge import InboundBridge, QualityObserver
from parley.business.links import ReferralLinks
from parley.business.media import GraphMedia, MediaUrls
from parley.business.numbers import BusinessNumbers
from parley.business.observers import (
    API,
    PRODUCT_MESSAGE_TYPES,
    ConversationMessage,
    ConversationObserver,
    ConversationObservers,
    ProductMessageCheck,
    SentBy,
)
from parley.business.outbox import BusinessOutbox
from parley.business.policy import CSW_MS
from parley.business.profile import BusinessProfiles
from parley.business.qr import InboxLink, QrCodes
from parley.business.repository import ConversationRow, NumberChangeRow, NumberRow, TokenRow
from parley.business.sender import CloudApiSender
from parley.business.sweeps import BusinessSweeps
from parley.business.team import BusinessForInbox
from parley.business.wamid import parse_wamid
from parley.graph import GraphScope

__all__ = [
    "API",
    "CSW_MS",
    "PRODUCT_MESSAGE_TYPES",
    "BusinessAccounts",
    "BusinessForInbox",
    "BusinessNumbers",
    "BusinessOutbox",
    "BusinessProfiles",
    "BusinessSweeps",
    "CloudApiSender",
    "ConversationMessage",
    "ConversationObserver",
    "ConversationObservers",
    "ConversationRow",
    "CreatedBusiness",
    "GraphMedia",
    "GraphScope",
    "InboundBridge",
    "InboxBusiness",
    "InboxLink",
    "MediaUrls",
    "NumberChangeRow",
    "NumberRow",
    "NumberStanding",
    "ProductMessageCheck",
    "QrCodes",
    "QualityObserver",
    "ReferralLinks",
    "SentBy",
    "TokenRow",
    "parse_wamid",
]
