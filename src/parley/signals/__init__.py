"""Metadata signals and consent: counters fed from events (never content), consent per person and purpose on a
ledger of events, the EU/EEA market rule and the k-anonymity floor (`parley.signals.rules`)."""

from parley.signals.personal_data import erase_person_in, personal_data_in  # rights
from parley.signals.repository import ConsentEvent
from parley.signals.rules import (
    ADS_PERSONALISATION,
    K_ANONYMITY_MIN,
    PRODUCT_ANALYTICS,
    SUPPRESSED,
    in_eu_eea,
    k_anonymous,
    no_interest_markets,
    region_of,
    shown_count,
)
from parley.signals.service import (
    CategoryLookup,
    ConsentObserver,
    Consents,
    ConsentView,
    CustomerCategories,
    Market,
    PersonSignals,
    SignalRecorder,
    Signals,
    TargetingSignals,
)

__all__ = [
    "ADS_PERSONALISATION",
    "K_ANONYMITY_MIN",
    "PRODUCT_ANALYTICS",
    "SUPPRESSED",
    "CategoryLookup",
    "ConsentEvent",
    "ConsentObserver",
    "ConsentView",
    "Consents",
    "CustomerCategories",
    "Market",
    "PersonSignals",
    "SignalRecorder",
    "Signals",
    "TargetingSignals",
    "erase_person_in",
    "in_eu_eea",
    "k_anonymous",
    "no_interest_markets",
    "personal_data_in",
    "region_of",
    "shown_count",
]
