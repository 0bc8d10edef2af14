"""Affiliate links and referral codes: merchants pay affiliates a commission on purchases that follow a
click, held through the refund window."""

from parley.affiliates.commission import MAX_RATE_BP, clawback_due, commission_of
from parley.affiliates.commissions import AffiliateCommissions
from parley.affiliates.personal_data import (  # rights
    erase_person_in,
    personal_data_in,
)
from parley.affiliates.service import (
    BUSINESS,
    INVALID_LINK,
    PERSON,
    AffiliatePrograms,
    InvalidLinkError,
    Landing,
    Merchant,
    SelfReferralError,
)

__all__ = [
    "BUSINESS",
    "INVALID_LINK",
    "MAX_RATE_BP",
    "PERSON",
    "AffiliateCommissions",
    "AffiliatePrograms",
    "InvalidLinkError",
    "Landing",
    "Merchant",
    "SelfReferralError",
    "clawback_due",
    "commission_of",
    "erase_person_in",  # rights
    "personal_data_in",  # rights
]
