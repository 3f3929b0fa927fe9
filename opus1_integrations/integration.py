"""The typed facade over the hooks of one integration (as tox wraps ``pm.hook``): the host calls methods, never hooks
by name, and whatever a plugin raises or returns that breaks its contract becomes ``PluginBroken`` (exit 4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils

from .clock import parse
from .context import Context
from .errors import Opus1Error, PluginBroken, UsageError
from .hookdata import Check, Finding, SyncOptions
from .plugins import LoadedPlugin, Plugins
from .redaction import scrub

EMPTY_SCHEMA = {"type": "object", "properties": {}}
#: What an optional hook lets the host do, for the error when a plugin lacks it.
OPTIONAL = {"lookup": "look contacts up in the service", "verify": "compare contacts with the service",
            "leavers": "list the people who left in the service"}
#: What each entry of ``leavers`` must hold.
LEAVER_KEYS = {"person_id": str, "account_ids": list, "email": str, "status": str, "left_at": str}


def _is_time(text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


class Integration:
    """One loaded integration, by name; unknown (exit 2) and broken (exit 4) integrations fail on construction."""

    def __init__(self, plugins: Plugins, name: str):
        self.plugins = plugins
        self.name = name
        self.plugin: LoadedPlugin = plugins.get(name)

    def implements(self, hook: str) -> bool:
        """Whether the plugin implements ``hook``."""
        return hook in self.plugin.hooks

    def settings_schema(self) -> dict:
        """The settings' JSON Schema (an empty object schema when the plugin declares none)."""
        schema = self._call("settings_schema")
        return self._expect(schema, dict, "settings_schema", "a JSON Schema object") if schema else EMPTY_SCHEMA

    def migrations(self) -> sqlite_utils.Migrations | None:
        """The plugin's own migration set, or ``None``."""
        migrations = self._call("migrations")
        return None if migrations is None else self._expect(migrations, sqlite_utils.Migrations, "migrations",
                                                            "a sqlite_utils.Migrations")

    def configure(self, context: Context, settings: dict) -> dict:
        """The settings to save, after the plugin's live checks (``SettingsInvalid`` when refused)."""
        normalised = self._call("configure", context=context, settings=settings)
        return settings if normalised is None else self._expect(normalised, dict, "configure", "a dict of settings")

    def validate(self, context: Context, settings: dict) -> list[Check]:
        """The plugin's live checks of saved settings."""
        return self._list_of(self._call("validate", context=context, settings=settings), Check, "validate")

    def sync(self, context: Context, settings: dict, audience, run, options: SyncOptions) -> dict:
        """One sync; returns the plugin's counts."""
        counts = self._call("sync", context=context, settings=settings, audience=audience, run=run, options=options)
        return {} if counts is None else self._expect(counts, dict, "sync", "a dict of counts")

    def diagnose(self, context: Context, settings: dict) -> list[Finding]:
        """The plugin's own findings."""
        return self._list_of(self._call("diagnose", context=context, settings=settings), Finding, "diagnose")

    def lookup(self, context: Context, settings: dict, keys: list[str]) -> dict[str, dict | None]:
        """The live facts of each contact key (``None``: not in the service); exit 2 when the plugin cannot."""
        self.require("lookup")
        facts = self._call("lookup", context=context, settings=settings, keys=keys)
        return self._expect(facts, dict, "lookup", "a dict of facts by key")

    def verify(self, context: Context, settings: dict, contacts: list) -> list[dict]:
        """Each sampled contact compared with its live record; exit 2 when the plugin cannot."""
        self.require("verify")
        return self._list_of(self._call("verify", context=context, settings=settings, contacts=contacts), dict,
                             "verify")

    def leavers(self, context: Context, settings: dict, since: datetime) -> list[dict]:
        """The synced people who left in the service at or after ``since``; exit 2 when the plugin cannot say."""
        self.require("leavers")
        people = self._list_of(self._call("leavers", context=context, settings=settings, since=since), dict,
                               "leavers")
        for person in people:
            if any(not isinstance(person.get(key), kind) for key, kind in LEAVER_KEYS.items()) or not isinstance(
                    person.get("reason"), (str, type(None))) or not _is_time(person["left_at"]):
                raise self._broken("leavers", "returned an entry without a text person_id, email, status, reason "
                                              "(or None), an ISO 8601 left_at and a list of account_ids")
        return people

    # -- plumbing ---------------------------------------------------------------------------

    def _call(self, hook: str, **kwargs) -> Any:
        try:
            return self.plugins.call(self.name, hook, **kwargs)
        except (Opus1Error, KeyboardInterrupt):
            raise
        except Exception as exc:  # plugin code can raise anything
            raise self._broken(hook, f"{type(exc).__name__}: {exc}") from exc

    def require(self, hook: str) -> None:
        """Raise ``UsageError`` (exit 2) saying what the integration cannot do when it lacks an optional hook."""
        if not self.implements(hook):
            raise UsageError(f"the {self.name} integration cannot {OPTIONAL[hook]} (it has no `{hook}` hook)",
                             hint="`opus1-int plugins` lists the hooks of each integration")

    def _expect(self, value: Any, kind: type, hook: str, what: str) -> Any:
        if not isinstance(value, kind):
            raise self._broken(hook, f"returned {type(value).__name__}, not {what}")
        return value

    def _list_of(self, value: Any, kind: type, hook: str) -> list:
        items = [] if value is None else self._expect(value, list, hook, "a list")
        for item in items:
            self._expect(item, kind, hook, f"a list of {kind.__name__}")
        return items

    def _broken(self, hook: str, what: str) -> PluginBroken:
        return PluginBroken(scrub(f"the {self.name!r} plugin failed in {hook}: {what}"),
                            hint="report it to the plugin's authors; OPUS1_INT_DEBUG=1 shows the traceback")


