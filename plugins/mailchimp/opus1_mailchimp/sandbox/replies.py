"""What the API answers: a reply, and Mailchimp's errors as RFC 7807 problem documents with the real titles."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

JSON = "application/json; charset=utf-8"
PROBLEM_JSON = "application/problem+json; charset=utf-8"
DESCRIBED_BY = '<https://us1.api.mailchimp.com/schema/3.0/ProblemDetailDocument.json>; rel="describedBy"'
ERRORS_DOC = "https://mailchimp.com/developer/marketing/docs/errors/"
INVALID_DETAIL = "The resource submitted could not be validated. For field-specific details, see the 'errors' array."


class Problem(Exception):
    """An API error: HTTP status, title, detail, optional field errors and extra headers (e.g. ``Allow``)."""

    def __init__(self, status: int, title: str, detail: str, errors: list[dict] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}

    def document(self, instance: str) -> dict:
        """The problem+json body."""
        doc = {"type": ERRORS_DOC, "title": self.title, "status": self.status, "detail": self.detail,
               "instance": instance}
        if self.errors is not None:
            doc["errors"] = self.errors
        return doc


@dataclass
class Reply:
    """One HTTP answer: status, body (JSON data, raw bytes, or None for none), extra headers, content type, and the
    time the latency model adds for the work done (members of a batch subscribe)."""

    status: int
    body: dict | list | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = JSON
    model_seconds: float = 0.0

    def payload(self) -> bytes:
        """The body as bytes."""
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, separators=(",", ":")).encode()


def problem_reply(problem: "Problem", instance: str) -> Reply:
    """The problem+json reply of an error, with ``X-Request-Id`` and the ``Link`` to the schema."""
    headers = {"X-Request-Id": instance, "Link": DESCRIBED_BY, **problem.headers}
    return Reply(problem.status, problem.document(instance), headers, PROBLEM_JSON)


def not_found() -> Problem:
    """404 for an unknown list, member, batch or path."""
    return Problem(404, "Resource Not Found", "The requested resource could not be found.")


def invalid(errors: list[dict], detail: str = INVALID_DETAIL) -> Problem:
    """400 Invalid Resource with field errors."""
    return Problem(400, "Invalid Resource", detail, errors)


def field_error(field: str, message: str) -> Problem:
    """400 Invalid Resource for one field."""
    return invalid([{"field": field, "message": message}])


def method_not_allowed(allow: str, detail: str | None = None) -> Problem:
    """405 with the ``Allow`` header."""
    return Problem(405, "Method Not Allowed", detail or "The requested method and resource are not compatible. "
                   "See the Allow header for this resource's available methods.", headers={"Allow": allow})


def json_parse_error() -> Problem:
    """400 for a body that is not JSON."""
    return Problem(400, "JSON Parse Error", "We encountered an unspecified JSON parsing error.")


def member_exists(email: str) -> Problem:
    """400 when creating a member that exists (also a PUT whose hash does not match the address)."""
    return Problem(400, "Member Exists", f"{email} is already a list member. Use PUT to insert or update list members.")


def compliance_state(email: str) -> Problem:
    """400 when subscribing someone who unsubscribed themselves or was cleaned."""
    return Problem(400, "Member In Compliance State", f"{email} is in a compliance state due to unsubscribe, bounce, "
                   "or compliance review and cannot be subscribed.")


def forgotten(email: str) -> Problem:
    """400 when adding an address that was permanently deleted."""
    return Problem(400, "Forgotten Email Not Subscribed", f"{email} was permanently deleted and cannot be re-imported. "
                   "The contact must re-subscribe to get back on the list.")


def schema_type(field: str, expected: str, value: object) -> Problem:
    """400 Invalid Resource for a value of the wrong JSON type, in Mailchimp's words."""
    return field_error(field, f"Schema describes {expected}, {json_type(value)} found instead")


def json_type(value: object) -> str:
    """The JSON type name Mailchimp uses in schema messages."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
