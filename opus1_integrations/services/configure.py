"""Saving an integration's settings for a business (checked live first), and checking saved ones."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .. import schedule
from .. import settings as settings_store
from ..hookdata import Check
from ..host import Host


@dataclass(frozen=True)
class Saved:
    """What ``configure`` saved: the settings shown redacted (a secret is never shown, not even partly)."""

    business: str
    integration: str
    enabled: bool
    interval_hours: float
    contacts_path: str | None
    settings: dict

    def to_dict(self) -> dict:
        """As ``configure --json`` prints it."""
        return asdict(self)


def configure(host: Host, name: str, business: str, given: dict, *, contacts_path: str | None = None,
              enabled: bool = True, interval_hours: float | None = None, unset: tuple[str, ...] = ()) -> Saved:
    """Merge ``given`` with the saved settings, check them (schema, then live unless disabling) and save them, with
    the interval of scheduled syncs when given (else the saved one, 24 hours for a new business).

    ``unset`` names saved settings to drop first (a form's emptied optional fields: their defaults apply again).
    A secret given with surrounding spaces (pasted) is trimmed. Nothing is saved when a check fails.
    """
    integration = host.integration(name)
    schema = integration.settings_schema()
    secrets = settings_store.secret_fields(schema)
    given = {k: v.strip() if k in secrets and isinstance(v, str) else v for k, v in given.items()}
    stored = host.stored(name, business)
    kept = {k: v for k, v in (stored.settings if stored else {}).items() if k not in unset}
    merged = {**kept, **given}
    resolved = host.resolve(schema, merged, name, business)  # the values are checked, not the `$env` references
    if enabled:
        normalised = integration.configure(host.context(integration, business), resolved)
        merged = _to_save(merged, normalised, secrets, settings_store.with_defaults(schema, {}))
    contacts = contacts_path or (stored.contacts_path if stored else None)
    with host.db.atomic():
        settings_store.save(host.db, business, name, merged, enabled=enabled, contacts_path=contacts)
        if interval_hours is not None:
            schedule.set_interval(host.db, business, name, interval_hours)
    return Saved(business, name, enabled, schedule.interval_hours(host.db, business, name), contacts,
                 settings_store.redact(schema, merged))


def _to_save(given: dict, normalised: dict, secrets: set[str], defaults: dict) -> dict:
    """What to store after the plugin normalised the settings: its values, except that a secret stays as given (an
    ``$env`` reference is never replaced by its value) and a default nobody chose is not stored (so it follows the
    schema)."""
    saved = {}
    for key, value in normalised.items():
        if key in secrets:
            if key in given:
                saved[key] = given[key]
        elif key in given or key not in defaults or defaults[key] != value:
            saved[key] = value
    return saved


def validate(host: Host, name: str, business: str) -> list[Check]:
    """The integration's live checks of the saved settings, each failing one with its fix."""
    configured = host.configured(name, business)
    integration = configured.integration
    return integration.validate(host.context(integration, business), configured.settings)
