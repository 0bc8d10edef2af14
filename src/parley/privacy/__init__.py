"""Privacy: blocks (a blocked person's messages are never delivered), abuse reports, who may add whom to groups,
who may see someone's last seen and online."""

from parley.privacy.personal_data import (  # rights
    erase_person_in,
    personal_data_in,
)
from parley.privacy.repository import GROUP_ADD_CHOICES, blockers_among, group_add_policies, last_seen_policies
from parley.privacy.service import MessageDirectory, PrivacyObserver, PrivacyService

__all__ = [
    "GROUP_ADD_CHOICES",
    "MessageDirectory",
    "PrivacyObserver",
    "PrivacyService",
    "blockers_among",
    "erase_person_in",  # rights
    "group_add_policies",
    "last_seen_policies",
    "personal_data_in",  # rights
]
