"""End-to-end encryption: the key directory and the to-device relay of ciphertext between devices.

Content of people's chats is encrypted on their devices (Olm/Megolm via vodozemac); the server stores public keys
and ciphertext only. See docs/e2ee.md and docs/security.md.
"""

from parley.e2ee.personal_data import personal_data_in  # rights
from parley.e2ee.service import (
    MEGOLM,
    OLM,
    SERVER_NAME,
    E2EEService,
    OneTimeKeysExhaustedError,
    matrix_user_id,
    parse_matrix_user_id,
)

__all__ = [
    "MEGOLM",
    "OLM",
    "SERVER_NAME",
    "E2EEService",
    "OneTimeKeysExhaustedError",
    "matrix_user_id",
    "parse_matrix_user_id",
    "personal_data_in",  # rights
]
