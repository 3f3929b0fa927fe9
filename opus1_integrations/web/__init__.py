"""The Integrations tab: a web front door over the services, standalone (``opus1-int web serve``) or mounted in
opus1's platform (``create_app(identify=...)``). docs/web.md describes both."""

from .app import create_app
from .signin import Principal

__all__ = ["Principal", "create_app"]
