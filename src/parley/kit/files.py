"""Files only the server's own user may read: the database, its secret key, the data directory."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def private_dir(path: Path) -> None:
    """Create the directory (0700) unless it exists; an existing one is left as the operator set it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def create_private_file(path: Path, content: bytes = b"") -> bool:
    """Create the file (0600, whatever the umask) with `content` unless it exists; whether it was created."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with contextlib.closing(os.fdopen(fd, "wb")) as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    return True
