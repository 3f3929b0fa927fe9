"""An export that is read only when first used: an integration can tell from its fingerprint that nothing changed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .audience import Audience, load_audience


class LazyAudience:
    """Behaves as the ``Audience`` of ``path``, loaded (and validated) on first use; ``fingerprint`` needs no load."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._audience: Audience | None = None
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        """The SHA-256 of the export's bytes: the same fingerprint means the same contacts and decisions."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            try:
                with self.path.open("rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        digest.update(chunk)
            except OSError:
                self.load()  # raises ExportRejected with the usual explanation
                raise
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    @property
    def loaded(self) -> bool:
        """Whether the export was read (a run that found nothing changed may never read it)."""
        return self._audience is not None

    def load(self) -> Audience:
        """The loaded audience (read, validated and built on the first call)."""
        if self._audience is None:
            self._audience = load_audience(self.path)
        return self._audience

    def __getattr__(self, name: str):
        return getattr(self.load(), name)

    def close(self) -> None:
        """Release the loaded audience, if any."""
        if self._audience is not None:
            self._audience.close()

    def __enter__(self) -> "LazyAudience":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
