"""End-to-end encryption: the key directory and the to-device relay of ciphertext between devices."""

from parley.e2ee.personal_data import (  # rights
    erase_person_in,
    personal_data_in,
)

__all__ = [  # rights
    "erase_person_in",
    "personal_data_in",
]
