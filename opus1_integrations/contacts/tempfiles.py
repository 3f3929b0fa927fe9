"""The temporary files that hold an export while it is read (names, emails, phones): owned, and never left behind.

Each file is created under a provisional name, locked (``flock``) by the process that owns it for as long as it
exists, then renamed to ``opus1-contacts-*.sqlite``: a file of that name whose lock can be taken has no living
owner (the kernel drops the lock when a process dies, even by SIGKILL), so the next load removes it. A lock works
where a process id would not: ids are reused, and containers that share a temporary folder see different ids.
"""

from __future__ import annotations

import fcntl
import os
import stat
import tempfile
from pathlib import Path

PREFIX = "opus1-contacts-"
SUFFIX = ".sqlite"
_cleaned: set[str] = set()  # the folders this process has already cleaned


class TempFile:
    """A new, empty temporary file in the temporary folder, locked by this process until ``remove``."""

    def __init__(self) -> None:
        handle, provisional = tempfile.mkstemp(prefix=PREFIX, suffix=SUFFIX + "-new")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.path = Path(provisional[: -len("-new")])
            os.rename(provisional, self.path)
        except BaseException:
            os.close(handle)
            Path(provisional).unlink(missing_ok=True)
            raise
        self._lock = handle

    def remove(self) -> None:
        """Delete the file, then release its lock."""
        if self._lock is not None:
            self.path.unlink(missing_ok=True)
            os.close(self._lock)
            self._lock = None


def remove_leftovers() -> list[Path]:
    """Delete this user's ``opus1-contacts-*.sqlite`` files in the temporary folder whose owner has died, once per
    process and folder; returns the files removed."""
    folder = tempfile.gettempdir()
    if folder in _cleaned:
        return []
    _cleaned.add(folder)
    removed = []
    for path in Path(folder).glob(f"{PREFIX}*{SUFFIX}"):
        try:
            handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue  # gone meanwhile, a symbolic link, or not ours to read
        try:
            info = os.fstat(handle)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                continue
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path.unlink(missing_ok=True)
            removed.append(path)
        except OSError:
            continue  # locked: its owner is alive
        finally:
            os.close(handle)
    return removed
