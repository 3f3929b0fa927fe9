"""Saving an integration's settings for a business (checked live first), and checking saved ones."""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import schedule
from .. import settings as settings_store
from ..errors import ExportRejected, SettingsInvalid
from ..hookdata import Check
from ..host import Host
from .exports import shared_audience
from .words import plural


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


def configure(host: Host, name: str, business: str, given: dict, *, contacts_path: str | Path | None = None,
              enabled: bool = True, interval_hours: float | None = None, unset: tuple[str, ...] = ()) -> Saved:
    """Merge ``given`` with the saved settings, check them (schema, the export, then live unless disabling) and save
    them, with the interval of scheduled syncs when given (else the saved one, 24 hours for a new business).

    The export's path is saved absolute and resolved (a scheduled sync runs from another folder), and must read
    cleanly (``ExportRejected``, exit 5, with its problems); without an export the settings are saved but the
    integration is not enabled (``Saved.enabled`` says so). ``unset`` names saved settings to drop first (a form's
    emptied optional fields: their defaults apply again). A secret given with surrounding spaces (pasted) is
    trimmed. Nothing is saved when a check fails.
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
    contacts = str(Path(contacts_path).expanduser().resolve()) if contacts_path else (
        stored.contacts_path if stored else None)
    if contacts_path or (enabled and contacts):
        check_export(contacts, name, business)
    with host.db.atomic():
        settings_store.save(host.db, business, name, merged, enabled=enabled, contacts_path=contacts)
        if interval_hours is not None:
            schedule.set_interval(host.db, business, name, interval_hours)
    return Saved(business, name, enabled and contacts is not None,  # nothing to sync without an export
                 schedule.interval_hours(host.db, business, name), contacts, settings_store.redact(schema, merged))


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


def check_export(path: str | None, name: str, business: str) -> int:
    """Read the export whole as a sync would; returns how many contacts it yields. Raises ``SettingsInvalid`` when
    none is set and ``ExportRejected`` (with the problems by line and field) when it cannot be read."""
    if not path:
        raise SettingsInvalid(f"no opus1 accounts export is set for {name} in business {business!r}",
                              hint=f"add --contacts PATH to `opus1-int configure {name} --business {business}`")
    with shared_audience(path) as audience:  # loaded once while unchanged, in a long-running front door
        return audience.counts["contacts"]


def validate(host: Host, name: str, business: str) -> list[Check]:
    """The integration's live checks of the saved settings, then the export's, each failing one with its fix."""
    configured = host.configured(name, business)
    integration = configured.integration
    checks = integration.validate(host.context(integration, business), configured.settings)
    return checks + [_export_check(configured.stored.contacts_path, name, business)]


def _export_check(path: str | None, name: str, business: str) -> Check:
    """The export: present, readable, valid, and how many contacts it yields."""
    fix = (f"`opus1-int contacts check {shlex.quote(str(path))}` lists what to fix; or point to another export with "
           f"`opus1-int configure {name} --business {business} --contacts PATH`")
    try:
        contacts = check_export(path, name, business)
    except SettingsInvalid as exc:
        return Check("export", False, exc.message, exc.hint)
    except ExportRejected as exc:
        first = f" ({exc.problems[0]})" if exc.problems else ""
        return Check("export", False, f"{exc.message}{first}", fix)
    return Check("export", True, f"{path}: {plural(contacts, 'contact')}")
