"""The installed integrations: what loaded, with which hooks, and why one could not."""

from __future__ import annotations

from ..host import Host


def installed(host: Host) -> list[dict]:
    """One dict per entry point (``name``, ``distribution``, ``version``, ``hooks``, ``error``), by name."""
    return [record.as_dict() for _, record in sorted(host.plugins.loaded.items())]
