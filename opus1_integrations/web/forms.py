"""The settings form, generated from a plugin's JSON Schema, and the settings read back from a submitted form.

Secrets (``writeOnly`` properties) are write-only: the form says whether one is set and never holds its value; an
empty secret field keeps the saved one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import settings as settings_store

MAX_VALUE = 10_000  # characters in one submitted value


@dataclass
class Field:
    """One input of the settings form."""

    name: str
    label: str
    widget: str
    """``text``, ``password``, ``number``, ``select``, ``checkbox`` or ``lines`` (a list, one item per line)."""
    help: str = ""
    help_url: str | None = None
    required: bool = False
    secret_state: str | None = None
    """For a secret: ``set``, ``env:<VAR>`` or ``unset``; never its value."""
    value: str = ""
    choices: list[str] = field(default_factory=list)
    step: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    input_type: str = "text"
    error: str | None = None


def _label(name: str, spec: dict) -> str:
    return spec.get("title") or name.replace("_", " ").capitalize()


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def fields(schema: dict, saved: dict, *, typed: dict | None = None, errors: dict | None = None) -> list[Field]:
    """The form's fields, required ones first: saved values (or the ones just ``typed``), schema defaults as help."""
    props = schema.get("properties", {})
    required = schema.get("required", [])
    secrets = settings_store.secret_fields(schema)
    errors = errors or {}
    shown = {**saved, **(typed or {})}
    out = []
    for name in sorted(props, key=lambda n: (n not in required, list(props).index(n))):
        spec = props[name]
        help_text = spec.get("description", "")
        if "default" in spec and name not in secrets:
            help_text += f" (default: {_shown(spec['default']).replace(chr(10), ', ') or 'none'})"
        help_url = spec.get("x-help-url") if str(spec.get("x-help-url", "")).startswith("https://") else None
        item = Field(name, _label(name, spec), "text", help_text.strip(), help_url, name in required,
                     error=errors.get(name))
        kind = spec.get("type")
        if name in secrets:
            item.widget, item.input_type = "password", "password"
            current = saved.get(name)
            item.secret_state = ("unset" if current is None else
                                 f"env:{current[settings_store.ENV_REF]}"
                                 if isinstance(current, dict) and settings_store.ENV_REF in current else "set")
            if item.secret_state != "unset":
                item.required = False  # leaving it empty keeps the saved one
        elif "enum" in spec:
            item.widget, item.choices = "select", [str(v) for v in spec["enum"]]
            item.value = _shown(shown.get(name, spec.get("default", "")))
        elif kind == "boolean":
            item.widget = "checkbox"
            item.value = _shown(shown.get(name, spec.get("default", False)))
        elif kind in ("integer", "number"):
            item.widget, item.input_type = "number", "number"
            item.step = "1" if kind == "integer" else "any"
            item.minimum, item.maximum = spec.get("minimum"), spec.get("maximum")
            item.value = _shown(shown.get(name))
        elif kind == "array":
            item.widget = "lines"
            item.value = _shown(shown.get(name))
        else:
            item.input_type = {"email": "email", "uri": "url"}.get(spec.get("format"), "text")
            item.value = _shown(shown.get(name))
        out.append(item)
    return out


@dataclass
class Submitted:
    """What a submitted settings form asks for."""

    given: dict
    """Settings to save (a secret only when one was typed)."""
    unset: tuple[str, ...]
    """Saved settings the form emptied (their defaults apply again)."""
    typed: dict
    """The non-secret values as typed, to show again when the settings are refused."""
    errors: dict[str, str]
    """Values that are not even of the right kind (a number field holding words), by setting."""


def read_form(schema: dict, form) -> Submitted:
    """The settings a submitted form asks for, converted to the schema's types; never echoes a secret."""
    props = schema.get("properties", {})
    secrets = settings_store.secret_fields(schema)
    given, unset, typed, errors = {}, [], {}, {}
    for name, spec in props.items():
        values = [v for v in form.getlist(name) if isinstance(v, str)]
        raw = values[-1][:MAX_VALUE] if values else ""
        kind = spec.get("type")
        if name in secrets:
            if raw.strip():
                given[name] = raw.strip()
            continue
        typed[name] = raw
        if kind == "boolean":
            given[name] = raw == "true"
            continue
        if not raw.strip():
            unset.append(name)
            continue
        if kind == "array":
            given[name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif kind in ("integer", "number") and "enum" not in spec:
            try:
                number = float(raw.strip())
                given[name] = int(number) if kind == "integer" and number.is_integer() else number
                if kind == "integer" and not number.is_integer():
                    errors[name] = "must be a whole number"
            except ValueError:
                errors[name] = "must be a number"
        else:
            given[name] = raw.strip()
    return Submitted(given, tuple(unset), typed, errors)
