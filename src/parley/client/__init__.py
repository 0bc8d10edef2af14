"""A Python client of Parley's person API with end-to-end encryption (Olm/Megolm via vodozemac, Matrix formats),
used by the tests, the benchmark and the economy simulator. It talks HTTP only: nothing here imports the server."""

from parley.client.api import ParleyAPIError, ParleyClient
from parley.client.attachments import AttachmentError, decrypt_attachment, encrypt_attachment
from parley.client.device import (
    MEGOLM,
    OLM,
    ROTATE_AFTER_MESSAGES,
    ROTATE_AFTER_MS,
    DecryptionError,
    E2EEDevice,
    PeerDevice,
    ReadMessage,
    RoomEvent,
    verify_signed,
)
from parley.client.ids import direct_room_id, group_room_id, user_id_of, user_mxid
from parley.client.safety import format_safety_number, safety_half, safety_number, safety_qr_payload

__all__ = [
    "MEGOLM",
    "OLM",
    "ROTATE_AFTER_MESSAGES",
    "ROTATE_AFTER_MS",
    "AttachmentError",
    "DecryptionError",
    "E2EEDevice",
    "ParleyAPIError",
    "ParleyClient",
    "PeerDevice",
    "ReadMessage",
    "RoomEvent",
    "decrypt_attachment",
    "direct_room_id",
    "encrypt_attachment",
    "format_safety_number",
    "group_room_id",
    "safety_half",
    "safety_number",
    "safety_qr_payload",
    "user_id_of",
    "user_mxid",
    "verify_signed",
]
