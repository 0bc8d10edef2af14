"""Privacy: blocks (a blocked person's messages are never delivered) and abuse reports."""

from parley.privacy.repository import blockers_among
from parley.privacy.service import MessageDirectory, PrivacyObserver, PrivacyService

__all__ = ["MessageDirectory", "PrivacyObserver", "PrivacyService", "blockers_among"]
