"""A faithful, stateful local emulator of the Mailchimp Marketing API v3.0, for tests, demos and benchmarks.

One account (one API key) with one or more audiences, served over HTTP on a loopback port.

    from opus1_mailchimp.sandbox import Sandbox

    with Sandbox() as sb:
        sb.seed_member("ana@posteo.de", status="unsubscribed", unsubscribed_by="contact")
        ...  # point a client at sb.base_url with sb.api_key

See docs/sandbox.md for what is emulated, the fault and latency knobs and the ``/_sandbox`` control surface.
"""

from .cli import main, serve_forever_cli
from .core import Sandbox
from .traffic import FAULT_KINDS, RecordedRequest

__all__ = ["FAULT_KINDS", "RecordedRequest", "Sandbox", "main", "serve_forever_cli"]
