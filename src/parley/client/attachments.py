"""Encrypted attachments in Matrix's EncryptedFile v2 format: AES-CTR-256 with a random key, SHA-256 of the
ciphertext, the key as a JWK. The key travels inside the Megolm-encrypted message; the server gets the blob only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class AttachmentError(ValueError):
    """The blob does not match its EncryptedFile (wrong hash, bad key) or the EncryptedFile is malformed."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str, *, urlsafe: bool = False) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded, validate=True)


def _ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    # CTR is symmetric: the same keystream encrypts and decrypts.
    cryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return cryptor.update(data) + cryptor.finalize()


def encrypt_attachment(plaintext: bytes) -> tuple[bytes, dict[str, Any]]:
    """The ciphertext to upload and its EncryptedFile (without `url`, which the upload gives)."""
    key = os.urandom(32)
    # Matrix's v2: 64 random bits then a 64-bit counter starting at zero, so the counter never wraps.
    iv = os.urandom(8) + b"\x00" * 8
    ciphertext = _ctr(key, iv, plaintext)
    return ciphertext, {
        "key": {
            "kty": "oct",
            "key_ops": ["encrypt", "decrypt"],
            "alg": "A256CTR",
            "k": base64.urlsafe_b64encode(key).decode().rstrip("="),
            "ext": True,
        },
        "iv": _b64(iv),
        "hashes": {"sha256": _b64(hashlib.sha256(ciphertext).digest())},
        "v": "v2",
    }


def decrypt_attachment(ciphertext: bytes, file: dict[str, Any]) -> bytes:
    """The plaintext of a downloaded blob, after checking its SHA-256 against the EncryptedFile."""
    try:
        if file.get("v") != "v2" or file["key"].get("alg") != "A256CTR":
            raise AttachmentError("unsupported EncryptedFile version or algorithm")
        key = _unb64(file["key"]["k"], urlsafe=True)
        iv = _unb64(file["iv"])
        expected = _unb64(file["hashes"]["sha256"])
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise AttachmentError(f"malformed EncryptedFile: {error}") from error
    if len(key) != 32 or len(iv) != 16:
        raise AttachmentError("malformed EncryptedFile: key or iv has the wrong length")
    if not hmac.compare_digest(hashlib.sha256(ciphertext).digest(), expected):
        raise AttachmentError("the downloaded file does not match its hash")
    return _ctr(key, iv, ciphertext)
