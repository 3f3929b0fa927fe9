"""opus1-integrations: the host that syncs a studio's clients to other services through plugins."""

from importlib.metadata import version as _version

__version__ = _version("opus1-integrations")
