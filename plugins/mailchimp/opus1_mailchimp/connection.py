"""Settings of the plugin: the schema with its defaults, and the client they describe."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib.resources import files
from pathlib import Path

from .client import Mailchimp

SCHEMA_FILE = "mailchimp-settings.schema.json"


@cache
def schema() -> dict:
    """The settings schema shipped in the package (or, in a source checkout, in the plugin's schemas/ folder)."""
    shipped = files("opus1_mailchimp") / "schemas" / SCHEMA_FILE
    if not shipped.is_file():
        shipped = Path(__file__).resolve().parent.parent / "schemas" / SCHEMA_FILE
    return json.loads(shipped.read_text(encoding="utf-8"))


def with_defaults(settings: dict) -> dict:
    """The settings with the schema's defaults filled in."""
    defaults = {k: p["default"] for k, p in schema()["properties"].items() if "default" in p}
    return {**defaults, **settings}


INTERACTIVE_RETRY_SECONDS = 5


def connect(settings: dict, *, interactive: bool = False, context=None) -> Mailchimp:
    """A client for the settings' key, pinned to Mailchimp (or to the loopback sandbox of ``api_url``).

    Interactive commands (configure, validate, diagnose, check) give up on retries sooner than a sync. With a
    ``context`` that shows progress, an episode of retries is announced on its console in one line.
    """
    settings = with_defaults(settings)
    retry = settings["retry_seconds"]
    return Mailchimp(settings["api_key"], settings.get("api_url"), max_connections=settings["max_connections"],
                     retry_seconds=min(retry, INTERACTIVE_RETRY_SECONDS) if interactive else retry,
                     batch_wait_seconds=settings["batch_wait_seconds"], on_retry=status_line(context))


def status_line(context) -> Callable[[str], None] | None:
    """Where retry notices go: the context's console when it shows progress, else nowhere."""
    if context is None or not context.show_progress:
        return None
    return lambda text: context.console.print(text, markup=False, highlight=False)
