"""Click-to-chat ads: ad accounts, campaigns, ad sets and ads (a Marketing-API-like surface), the auction that fills
ad slots on publishers' pages, clicks that open a chat with a `referral`, and attribution of conversations,
orders and reported conversions back to the click. Spend posts to the ledger (`platform:revenue:ads:{CUR}`)."""

from parley.ads.manager import CHANGED_TOPIC, AdsManager, effective_status
from parley.ads.personal_data import (  # rights
    erase_person_in,
    personal_data_in,
)
from parley.ads.preferences import AdsPreferences
from parley.ads.segments import SEGMENTS
from parley.ads.viewers import ViewerIds

__all__ = ["CHANGED_TOPIC", "SEGMENTS", "AdsManager", "AdsPreferences", "ViewerIds", "effective_status"]
__all__ += ["erase_person_in", "personal_data_in"]  # rights
