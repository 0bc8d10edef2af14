"""Metadata signals and consent."""

from parley.signals.personal_data import (  # rights
    erase_person_in,
    personal_data_in,
)

__all__ = [  # rights
    "erase_person_in",
    "personal_data_in",
]
