"""Media: uploaded files (images, documents, audio, video) and who may download them."""

from parley.media.repository import MediaRow, chats_sharing, get_media, share_media
from parley.media.service import ALLOWED_TYPES, MediaService

__all__ = ["ALLOWED_TYPES", "MediaRow", "MediaService", "chats_sharing", "get_media", "share_media"]
