"""Media: uploaded files (images, documents, audio, video) and who may download them."""

from parley.media.personal_data import (  # rights
    delete_media_rows_in,
    media_of_in,
    personal_data_in,
    unshare_all_in,
)
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
    "delete_media_rows_in",  # rights
    "delete_unshared_media",
    "get_media",
    "is_animated_webp",
    "is_profile_photo",
    "mark_media_used",
    "media_of_in",  # rights
    "personal_data_in",  # rights
    "profile_photos_of",
    "share_media",
    "unshare_all_in",  # rights
]
