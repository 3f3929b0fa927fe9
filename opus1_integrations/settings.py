"""Integration settings: validated against the plugin's JSON Schema, stored per business, secrets kept out of sight."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlite_utils
from jsonschema import Draft202012Validator

from . import redaction
from .clock import now
from .errors import SettingsInvalid
from .redaction import REDACTED

ENV_REF = "$env"


def secret_fields(schema: dict) -> set[str]:
    """Names of the top-level properties the schema marks as secret: ``"writeOnly": true`` alone marks one."""
    return {name for name, prop in schema.get("properties", {}).items() if prop.get("writeOnly")}


def with_defaults(schema: dict, settings: dict) -> dict:
    """The settings with the schema's top-level ``default`` values filled in where a setting is absent."""
    defaults = {k: p["default"] for k, p in schema.get("properties", {}).items() if "default" in p}
    return {**defaults, **settings}


@lru_cache(maxsize=64)
def _validator(schema_text: str) -> Draft202012Validator:
    """A checked validator per schema, built once per process (a plugin's schema does not change while it runs)."""
    schema = json.loads(schema_text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check_settings(schema: dict, settings: dict, *, fix: str = "opus1-int configure INTEGRATION") -> None:
    """Validate settings against a plugin schema; raise ``SettingsInvalid`` naming every wrong setting in words
    (its ``fields`` map each setting's path to its problem, for a form to show beside the field).

    A wrong value is explained with the schema's own words (``x-format-hint``, else ``description``), never with a
    regular expression; a secret's value is never quoted. ``fix`` is the command the hint tells people to run.
    """
    validator = _validator(json.dumps(schema, sort_keys=True))
    secrets = secret_fields(schema)
    fields: dict[str, str] = {}
    for error in sorted(validator.iter_errors(settings), key=lambda e: list(e.absolute_path)):
        path, problem = _in_words(error, schema, secrets)
        fields.setdefault(path, problem)
    if fields:
        raise SettingsInvalid("settings are invalid: " + "; ".join(f"{p}: {m}" for p, m in fields.items()),
                              hint=f"fix the settings named above with `{fix}`", fields=fields)


def _in_words(error, schema: dict, secrets: set[str]) -> tuple[str, str]:
    """One validation error as (the setting's path, what is wrong with it in words)."""
    where = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return ".".join(where + [missing]), "is required"
    if error.validator == "additionalProperties" and not where and isinstance(error.instance, dict):
        unknown = sorted(k for k in error.instance if k not in schema.get("properties", {}))
        return ", ".join(unknown), "is not a setting of this integration"
    if not where:
        return "settings", f"are not valid together (the schema's `{error.validator}` rule)"
    prop = schema.get("properties", {}).get(where[0], {}) if len(where) == 1 else {}
    expected = prop.get("x-format-hint") or prop.get("description")
    if "enum" in prop:
        return where[0], "must be one of: " + ", ".join(map(str, prop["enum"]))
    if where[0] in secrets or error.validator in ("pattern", "anyOf", "oneOf", "format", "not"):
        return ".".join(where), "is not valid" + (f": expected {expected}" if expected else "")
    return ".".join(where), error.message


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
    row = db.execute("select enabled, settings, contacts_path, updated_at from integrations where business = ? and "
                     "integration = ?", [business, integration]).fetchone()
    if row is None:
        return None
    enabled, settings, contacts_path, updated_at = row
    return StoredSettings(business=business, integration=integration, enabled=bool(enabled),
                          settings=json.loads(settings), contacts_path=contacts_path, updated_at=updated_at)


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
