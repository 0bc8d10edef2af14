"""The rules of who may send what and what it costs, as pure functions of the conversation and the clock.

- Customer service window (CSW): 24 h from the person's last message. Outside it only templates (131047).
- Free entry point (FEP): a person who came from a click-to-chat link; the business's reply within 24 h opens
  a 72 h window in which everything the business sends is free.
- Per-message pricing (Meta's PMP): templates are charged by category; free are every non-template message
  in the CSW, utility templates in the CSW, and everything in an FEP window.
- Messaging limits: unique people reached outside a CSW per rolling 24 h, by tier.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.business.repository import ConversationRow
from parley.graph import GraphError

HOUR_MS = 3_600_000
CSW_MS = 24 * HOUR_MS
FEP_MS = 72 * HOUR_MS
REFERRAL_REPLY_MS = 24 * HOUR_MS

# Limits of the tiers below unlimited; names by position (operators may configure other limits for tests or
# private deployments, the names stay Meta's).
DEFAULT_TIERS: tuple[int, ...] = (250, 2_000, 10_000, 100_000)
TIER_NAMES = ("TIER_250", "TIER_2K", "TIER_10K", "TIER_100K", "TIER_UNLIMITED")
UNLIMITED_TIER = len(DEFAULT_TIERS)


@dataclass(frozen=True)
class Pricing:
    category: str  # marketing | utility | authentication | service
    pricing_type: str  # regular | free_customer_service | free_entry_point
    billable: bool
    origin: str  # business_initiated | user_initiated | referral_conversion
    in_service_window: bool
    fep_expires_at: int | None  # set when this send opens (or runs inside) a free-entry-point window

    @property
    def webhook_category(self) -> str:
        return "referral_conversion" if self.pricing_type == "free_entry_point" else self.category


def in_service_window(conversation: ConversationRow | None, now: int) -> bool:
    return (
        conversation is not None
        and conversation.last_inbound_at is not None
        and (now < conversation.last_inbound_at + CSW_MS)
    )


def price_send(conversation: ConversationRow | None, now: int, template_category: str | None) -> Pricing:
    """What a business send is, or GraphError 131047 when a free-form message is outside the window."""
    in_csw = in_service_window(conversation, now)
    if template_category is None and not in_csw:
        raise GraphError(
            131047,
            "Message failed to send because more than 24 hours have passed since the customer last replied to "
            "this number. Send a template message instead.",
        )
    category = (template_category or "service").lower()
    fep_until = None
    if conversation is not None:
        if conversation.fep_expires_at is not None and now < conversation.fep_expires_at:
            fep_until = conversation.fep_expires_at
        elif in_csw and conversation.referral_at is not None and now < conversation.referral_at + REFERRAL_REPLY_MS:
            fep_until = now + FEP_MS  # the business's first reply to a click-to-chat message opens the window
    if fep_until is not None:
        return Pricing(category, "free_entry_point", False, "referral_conversion", in_csw, fep_until)
    origin = "user_initiated" if in_csw else "business_initiated"
    if template_category is None or (category == "utility" and in_csw):
        return Pricing(category, "free_customer_service", False, origin, in_csw, None)
    return Pricing(category, "regular", True, origin, in_csw, None)


def tier_limit(tier: int, tiers: tuple[int, ...] = DEFAULT_TIERS) -> int | None:
    """Unique people per rolling 24 h at this tier; None for unlimited."""
    return tiers[tier] if 0 <= tier < len(tiers) else None


def tier_name(tier: int) -> str:
    return TIER_NAMES[min(max(tier, 0), len(TIER_NAMES) - 1)]
