"""What Mailchimp accepts: email addresses, member statuses, merge-field values and the optional member fields."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .replies import Problem, field_error, invalid, schema_type

# POST, PUT, PATCH and batch subscribe (the 3.0.76 spec left transactional out of PATCH and batch subscribe; the
# current API definition has it in all four, see docs/sandbox.md)
WRITABLE_STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")
ALL_STATUSES = WRITABLE_STATUSES + ("archived",)

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
_EMAIL = re.compile(rf"^{_LOCAL}@{_DOMAIN}$")
_FAKE_DOMAINS = frozenset({"example.com", "example.net", "example.org", "mailinator.com", "yopmail.com"})
_FAKE_SUFFIXES = tuple("." + d for d in _FAKE_DOMAINS) + (".test", ".example", ".invalid", ".localhost")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def subscriber_hash(email: str) -> str:
    """The member id: MD5 hex of the lower-cased address."""
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


def is_hash(segment: str) -> bool:
    """Whether a path segment looks like a subscriber hash or contact id (32 lowercase hex)."""
    return bool(_HEX32.match(segment))


def check_email(email: object, field: str = "email_address") -> str:
    """The address with surrounding whitespace removed; 400 Invalid Resource if blank or malformed."""
    if email is not None and not isinstance(email, str):
        raise schema_type(field, "string", email)
    email = (email or "").strip()
    if not email:
        raise field_error(field, "This value should not be blank.")
    if len(email) > 254 or not _EMAIL.match(email):
        raise Problem(400, "Invalid Resource", "Please provide a valid email address.")
    return email


def check_real(email: str) -> None:
    """400 Invalid Resource "... looks fake or invalid" for example, test and disposable domains."""
    domain = email.rsplit("@", 1)[1].lower()
    if domain.startswith("test.") or domain in _FAKE_DOMAINS or domain.endswith(_FAKE_SUFFIXES):
        raise Problem(400, "Invalid Resource", f"{email} looks fake or invalid, please enter a real email address.")


def check_choice(value: object, field: str, allowed: tuple[str, ...]) -> str:
    """A value from ``allowed`` (a status, a sort field, a method...), else 400 Invalid Resource."""
    if value not in allowed:
        raise field_error(field, f"Data presented is not one of the accepted values: {', '.join(allowed)}.")
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class MergeField:
    """One merge field of the audience."""

    tag: str
    name: str
    type: str = "text"
    required: bool = False
    choices: tuple[str, ...] = ()

    def options(self) -> dict:
        """The ``options`` object of the merge-field resource."""
        if self.type == "address":
            return {"default_country": 164}
        if self.type == "phone":
            return {"phone_format": "International"}
        if self.type == "birthday":
            return {"date_format": "MM/DD"}
        if self.type == "date":
            return {"date_format": "MM/DD/YYYY"}
        if self.type in ("dropdown", "radio"):
            return {"choices": list(self.choices)}
        return {"size": 25}

    def check(self, value: object) -> tuple[object, str | None]:
        """The value as stored and an error message (``None`` if valid)."""
        if value == "":
            return "", None
        if self.type == "address":
            parts = ("addr1", "city", "state", "zip")
            if isinstance(value, dict) and all(str(value.get(k) or "").strip() for k in parts):
                return {"addr1": str(value["addr1"]), "addr2": str(value.get("addr2") or ""),
                        "city": str(value["city"]), "state": str(value["state"]), "zip": str(value["zip"]),
                        "country": str(value.get("country") or "US")}, None
            return value, "Please enter a complete address"
        if self.type == "number":
            try:
                float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return value, "Please enter a number"
            return value, None
        if self.type in ("dropdown", "radio") and value not in self.choices:
            return value, f"Value must be one of: {', '.join(self.choices)} (not {value})"
        return value, None


KNOWN_FIELDS = {
    "FNAME": MergeField("FNAME", "First Name"),
    "LNAME": MergeField("LNAME", "Last Name"),
    "PHONE": MergeField("PHONE", "Phone Number", "phone"),
    "ADDRESS": MergeField("ADDRESS", "Address", "address"),
    "BIRTHDAY": MergeField("BIRTHDAY", "Birthday", "birthday"),
}


def merge_field(spec: str | dict) -> MergeField:
    """A merge field from a tag (``"FNAME"``) or a dict ``{"tag", "name", "type", "required", "choices"}``."""
    if isinstance(spec, str):
        return KNOWN_FIELDS.get(spec, MergeField(spec, spec))
    base = KNOWN_FIELDS.get(spec["tag"], MergeField(spec["tag"], spec["tag"]))
    return MergeField(spec["tag"], spec.get("name", base.name), spec.get("type", base.type),
                      bool(spec.get("required", False)), tuple(spec.get("choices", ())))


def check_merge_fields(values: object, fields: dict[str, MergeField], *, creating: bool,
                       skip_required: bool, current: dict | None = None) -> dict:
    """The cleaned values to store; 400 Invalid Resource "Your merge fields were invalid." with errors[] if not."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise schema_type("merge_fields", "object", values)
    cleaned, errors = {}, []
    for tag, value in values.items():
        if isinstance(value, (bool, list)) or value is None:
            raise field_error(f"merge_fields.{tag}", "Data did not match any of the schemas described in anyOf.")
        field = fields.get(tag)
        if field is None:
            errors.append({"field": tag, "message": "This merge field does not exist in this audience."})
            continue
        stored, message = field.check(value)
        if message:
            errors.append({"field": tag, "message": message})
        cleaned[tag] = stored
    if not skip_required:
        after = {**(current or {}), **cleaned}
        for field in fields.values():
            if field.required and (creating or field.tag in cleaned) and after.get(field.tag, "") == "":
                errors.append({"field": field.tag, "message": "Please enter a value"})
    if errors:
        raise invalid(errors, "Your merge fields were invalid.")
    return cleaned


def check_optional_fields(body: dict) -> dict:
    """The optional member fields of a POST/PUT/PATCH/batch body, type-checked; 400 Invalid Resource if not."""
    out = {}
    if "email_type" in body:
        out["email_type"] = check_choice(body["email_type"], "email_type", ("html", "text"))
    for key in ("language", "ip_signup", "ip_opt", "timestamp_signup", "timestamp_opt"):
        if key in body:
            if not isinstance(body[key], str):
                raise schema_type(key, "string", body[key])
            out[key] = body[key]
    if "vip" in body:
        if not isinstance(body["vip"], bool):
            raise schema_type("vip", "boolean", body["vip"])
        out["vip"] = body["vip"]
    if "interests" in body:
        interests = body["interests"]
        if not isinstance(interests, dict) or not all(isinstance(v, bool) for v in interests.values()):
            raise schema_type("interests", "object", interests)
        out["interests"] = interests
    if "location" in body:
        location = body["location"]
        if not isinstance(location, dict) or not all(
                isinstance(location.get(k, 0), (int, float)) and not isinstance(location.get(k, 0), bool)
                for k in ("latitude", "longitude")):
            raise schema_type("location", "object", location)
        out["location"] = {"latitude": location.get("latitude", 0), "longitude": location.get("longitude", 0)}
    return out


def check_tags(tags: object) -> list[str]:
    """Tag names of a POST/PUT/batch body (a list of strings)."""
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise schema_type("tags", "array", tags)
    return [t.strip() for t in tags if t.strip()]
