"""Safety numbers: the 60 digits two people compare to check that no one sits between them (docs/e2ee.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

_ITERATIONS = 5199  # after the first hash: 5200 rounds of SHA-512, as docs/e2ee.md fixes it


def safety_half(user_id: int | str, ed25519_keys: Iterable[str]) -> str:
    """One person's 30 digits, from the ed25519 identity keys of all of their devices (order does not matter)."""
    data = ("parley-safety-v1\n" + str(user_id) + "\n" + "\n".join(sorted(ed25519_keys))).encode()
    digest = hashlib.sha512(data).digest()
    for _ in range(_ITERATIONS):
        digest = hashlib.sha512(digest + data).digest()
    return "".join(f"{int.from_bytes(digest[i : i + 5], 'big') % 100000:05d}" for i in range(0, 30, 5))


def safety_number(user_a: int | str, keys_a: Iterable[str], user_b: int | str, keys_b: Iterable[str]) -> str:
    """The 60-digit number both people see: the half of the smaller user id (numerically) first."""
    half_a, half_b = safety_half(user_a, keys_a), safety_half(user_b, keys_b)
    return half_a + half_b if int(user_a) < int(user_b) else half_b + half_a


def format_safety_number(number: str) -> str:
    """12 groups of 5 digits, as the chat shows them."""
    return " ".join(number[i : i + 5] for i in range(0, len(number), 5))


def safety_qr_payload(number: str) -> str:
    return f"parley-safety:v1:{number}"
