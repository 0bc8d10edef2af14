"""The export archive: one zip of JSON files (one per part of the platform), a README, and the person's uploads.

Written to a file object from a worker thread (compressing and reading files must not block the event loop).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from parley.kit.rows import Rows

Progress = Callable[[str, int, int], None]  # (what, done, total)

README = """\
Your data on Parley
===================

Exported {exported_at} (UTC) for account {user_id}.

Each JSON file holds what one part of the platform keeps about you, as stored:

  account.json        your account (number, name, when it was made) and your devices (never their secret tokens)
  messaging.json      your chats and memberships, every message you sent, your reactions, read receipts, presence
  media.json          what you uploaded (the files themselves are in media/), where it was shared, your photo
  privacy.json        who you blocked, reports you filed, your privacy settings
  signals.json        activity counters (never content), your consents and every consent given or withdrawn
  e2ee.json           the public keys of your devices (private keys never leave your devices)
  ledger.json         your wallet accounts and every line in or out of them
  payments.json       payments to and from people, top-ups and withdrawals, orders paid to businesses
  commerce.json       your carts and the orders you sent to businesses
  channels.json       channels you own or administer, channels you follow, your reactions and votes
  subscriptions.json  your subscriptions to channels and paid groups, and their charges
  affiliates.json     your affiliate links and what they earned
  ads.json            the topics you chose for ads

Messages in end-to-end encrypted chats are exported as the server stores them: ciphertext. Parley never holds
the keys to read them; your devices do.

Amounts are integers in micro-units of their currency (1 USD = 1,000,000). Times are milliseconds since
1970-01-01 UTC. Ids are strings when they are too large for every JSON reader.
"""


@dataclass(frozen=True)
class Upload:
    """One file the person uploaded, to be put in the archive's media/ folder."""

    media_id: int
    filename: str | None
    path: Path | None  # None: the file is gone from the media directory (listed in media.json all the same)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:80] or "file"


def write_archive(
    out: IO[bytes],
    user_id: int,
    exported_at: str,
    parts: dict[str, dict[str, Rows]],
    uploads: Iterable[Upload],
    progress: Progress | None = None,
) -> int:
    """Write the zip to `out`; the number of media files in it."""
    files = list(uploads)
    total = len(parts) + len(files) + 1
    done = 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(what, done, total)

    written = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(exported_at=exported_at, user_id=user_id))
        step("README.txt")
        for name, sections in parts.items():
            archive.writestr(f"{name}.json", orjson.dumps(sections, option=orjson.OPT_INDENT_2))
            step(f"{name}.json")
        for upload in files:
            if upload.path is not None:
                suffix = f"-{_safe(upload.filename)}" if upload.filename else ""
                archive.write(upload.path, f"media/{upload.media_id}{suffix}")
                written += 1
            step(f"media/{upload.media_id}")
    return written
