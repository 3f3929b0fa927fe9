"""The host: the installed plugins and the state database, and each integration's settings for a business, ready
for the hooks. The services (``opus1_integrations.services``) work through it; the front doors never call hooks."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sqlite_utils
from rich.console import Console

from . import settings as settings_store
from . import state
from .business import business_id
from .context import Context
from .errors import SettingsInvalid
from .integration import Integration
from .output import messages
from .plugins import Plugins


@dataclass(frozen=True)
class Configured:
    """One business's saved, checked settings for one integration, with what the hooks need."""

    integration: Integration
    stored: settings_store.StoredSettings
    settings: dict
    """The settings as hooks see them: secrets resolved, schema defaults applied, checked against the schema."""
    schema: dict


class Host:
    """Plugins plus the state database (opened on first use: listing plugins or building help needs none)."""

    def __init__(self, plugins: Plugins, db: sqlite_utils.Database | None = None):
        self.plugins = plugins
        if db is not None:
            self.__dict__["db"] = db  # the cached_property's slot: use this connection
        self._migrated: set[str] = set()

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """The state database, opened (and migrated) on first use."""
        return state.open_db()

    @cached_property
    def console(self) -> Console:
        """The console for people that the hooks' contexts share (one per ``Host``: building one costs)."""
        return messages()

    def close(self) -> None:
        """Close the state database if it was opened."""
        db = self.__dict__.pop("db", None)
        if db is not None:
            db.conn.close()

    def integration(self, name: str) -> Integration:
        """The facade of one integration: unknown (exit 2) and broken (exit 4) integrations fail here."""
        return Integration(self.plugins, name)

    def context(self, integration: Integration, business: str, *, show_progress: bool = False) -> Context:
        """A hook context for one business, with the plugin's own migrations applied once per process."""
        if integration.name not in self._migrated:
            migrations = integration.migrations()
            if migrations is not None:
                state.apply_migrations(self.db, migrations)
            self._migrated.add(integration.name)
        return Context(business=business, integration=integration.name, db=self.db, console=self.console,
                       show_progress=show_progress)

    def stored(self, name: str, business: str) -> settings_store.StoredSettings | None:
        """The business's saved settings for an integration, or ``None`` when it was never configured; a business
        id that is not valid is a usage error (exit 2)."""
        return settings_store.load(self.db, business_id(business), name)

    def require_stored(self, name: str, business: str) -> settings_store.StoredSettings:
        """The business's saved settings for an integration; one never configured is a settings error (exit 3)."""
        stored = self.stored(name, business)
        if stored is None:
            raise SettingsInvalid(f"{name} is not configured for business {business!r}",
                                  hint=f"run `opus1-int configure {name} --business {business}`")
        return stored

    def configured(self, name: str, business: str) -> Configured:
        """The integration and the business's saved settings, checked: unknown (exit 2), broken (exit 4),
        unconfigured (exit 3) and invalid (exit 3) fail here, in that order."""
        integration = self.integration(name)
        schema = integration.settings_schema()
        stored = self.require_stored(name, business)
        return Configured(integration, stored, self.resolve(schema, stored.settings, name, business), schema)

    def resolve(self, schema: dict, settings: dict, name: str, business: str) -> dict:
        """Settings as hooks see them: secrets resolved from the environment, defaults applied, checked."""
        resolved = settings_store.with_defaults(schema, settings_store.resolve_secrets(schema, settings))
        settings_store.check_settings(schema, resolved, fix=f"opus1-int configure {name} --business {business}")
        return resolved
