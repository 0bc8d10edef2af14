"""Media: uploaded files (images, documents, audio, video) and who may download them."""

from parley.media.repository import (
    MediaRow,
    chats_sharing,
    chats_sharing_any,
    delete_unshared_media,
    get_media,
    is_profile_photo,
    mark_media_used,
    profile_photos_of,
    share_media,
)
from parley.media.service import (
    ALLOWED_TYPES,
    ENCRYPTED_MEDIA,  # e2ee
    HEAD_BYTES,
    META_TYPES,
    STICKER_STATIC_LIMIT,
    MediaQuotaExceededError,
    MediaService,
    content_matches,
    is_animated_webp,
)

__all__ = [
    "ALLOWED_TYPES",
    "ENCRYPTED_MEDIA",  # e2ee
    "HEAD_BYTES",
    "META_TYPES",
    "STICKER_STATIC_LIMIT",
    "MediaQuotaExceededError",
    "MediaRow",
    "MediaService",
    "chats_sharing",
    "chats_sharing_any",
    "content_matches",
    "delete_unshared_media",
    "get_media",
    "is_animated_webp",
    "is_profile_photo",
    "mark_media_used",
    "profile_photos_of",
    "share_media",
]
