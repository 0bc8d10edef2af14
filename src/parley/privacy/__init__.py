"""Privacy: blocks (a blocked person's messages are never delivered) and abuse reports."""

from parley.privacy.repository import blockers_among
from parley.privacy.service import MessageDirectory, PrivacyService

__all__ = ["MessageDirectory", "PrivacyService", "blockers_among"]
