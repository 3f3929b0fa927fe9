"""Integration settings: validated against the plugin's JSON Schema, stored per business, secrets kept out of sight."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from jsonschema import Draft202012Validator

from . import redaction
from .clock import now
from .errors import SettingsInvalid
from .redaction import REDACTED

ENV_REF = "$env"


def secret_fields(schema: dict) -> set[str]:
    """Names of the top-level properties the schema marks as secret (``writeOnly``)."""
    return {
        name
        for name, prop in schema.get("properties", {}).items()
        if prop.get("writeOnly") or prop.get("x-secret")
    }


def check_settings(schema: dict, settings: dict) -> None:
    """Validate settings against a plugin schema; raise ``SettingsInvalid`` listing every error by field path.

    jsonschema's messages quote the rejected value, so for a secret field only the kind of error is shown.
    """
    Draft202012Validator.check_schema(schema)
    secrets = secret_fields(schema)
    hidden = [v for k, v in settings.items() if k in secrets and isinstance(v, str) and v]
    problems = []
    for error in sorted(Draft202012Validator(schema).iter_errors(settings), key=lambda e: list(e.absolute_path)):
        path = "/" + "/".join(str(p) for p in error.absolute_path)
        field = str(error.absolute_path[0]) if error.absolute_path else None
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            problems.append(f"{path.rstrip('/')}/{missing}: is required")
        elif field in secrets:
            fmt = schema["properties"][field].get("x-format-hint")
            problems.append(f"{path}: is not valid ({error.validator})" + (f"; expected {fmt}" if fmt else ""))
        elif any(value in error.message for value in hidden):  # e.g. a root-level error quoting every setting
            problems.append(f"{path}: is not valid ({error.validator})")
        else:
            problems.append(f"{path}: {error.message}")
    if problems:
        raise SettingsInvalid(
            "settings are invalid: " + "; ".join(problems),
            hint="fix the fields named above with `opus1-int configure INTEGRATION`",
        )


def resolve_secrets(schema: dict, settings: dict) -> dict:
    """Replace ``{"$env": "NAME"}`` references by the environment variable's value."""
    resolved = dict(settings)
    for name in secret_fields(schema):
        value = settings.get(name)
        if isinstance(value, dict) and ENV_REF in value:
            var = value[ENV_REF]
            if var not in os.environ:
                raise SettingsInvalid(
                    f"setting {name!r} refers to environment variable {var}, which is not set",
                    hint=f"export {var}=... in the environment that runs opus1-int",
                )
            resolved[name] = os.environ[var]
        if isinstance(resolved.get(name), str):
            redaction.remember(resolved[name])
    return resolved


def redact(schema: dict, settings: dict) -> dict:
    """A copy safe to print or store in logs: secret values become ``********``, env references stay."""
    shown = dict(settings)
    for name in secret_fields(schema):
        value = shown.get(name)
        if value is not None and not (isinstance(value, dict) and ENV_REF in value):
            shown[name] = REDACTED
    return shown


@dataclass
class StoredSettings:
    """One business's saved settings for one integration."""

    business: str
    integration: str
    enabled: bool
    settings: dict
    contacts_path: str | None
    updated_at: str


def load(db: sqlite_utils.Database, business: str, integration: str) -> StoredSettings | None:
    """The saved settings, or ``None`` when the integration was never configured for this business."""
    rows = list(db["integrations"].rows_where("business = ? and integration = ?", [business, integration]))
    if not rows:
        return None
    row = rows[0]
    return StoredSettings(
        business=row["business"],
        integration=row["integration"],
        enabled=bool(row["enabled"]),
        settings=json.loads(row["settings"]),
        contacts_path=row["contacts_path"],
        updated_at=row["updated_at"],
    )


def save(
    db: sqlite_utils.Database,
    business: str,
    integration: str,
    settings: dict,
    *,
    enabled: bool,
    contacts_path: str | None,
) -> None:
    """Save (insert or replace) one business's settings for an integration."""
    db["integrations"].upsert(
        {
            "business": business,
            "integration": integration,
            "enabled": int(enabled),
            "settings": json.dumps(settings, sort_keys=True),
            "contacts_path": contacts_path,
            "updated_at": now(),
        },
        pk=("business", "integration"),
    )


def env_reference(var: str) -> dict[str, Any]:
    """The stored form of a secret kept in an environment variable."""
    return {ENV_REF: var}
