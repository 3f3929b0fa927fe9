"""What went wrong talking to Mailchimp, classified so each case gets the right words and exit code.

Mailchimp's own answers decide the class: 401/403 with one of its key titles is a key problem (exit 3); 5xx, 429,
Mailchimp's empty overload answers, timeouts and network errors mean Mailchimp is unavailable (exit 1: nothing to
change, the next run retries); an answer that cannot be used (HTML, broken JSON, an unexpected shape) or a
redirect is Mailchimp's problem too (exit 1), never a plugin defect. Messages name the host and path that failed,
never a query string (pre-signed URLs carry their signature there) and never the API key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from opus1_integrations.api import OperationFailed, SettingsInvalid

KEY_HINT = "copy a key from Mailchimp (Account > Extras > API keys): 32 hex characters, a dash, the datacenter (e.g. -us6)"
#: The titles Mailchimp answers a key it does not accept with (docs/errors glossary, 401 and 403 rows).
KEY_TITLES = frozenset({"API Key Missing", "API Key Invalid", "Forbidden", "User Disabled", "Wrong Datacenter"})

KEY_REJECTED = "key_rejected"
UNAVAILABLE = "unavailable"
MALFORMED = "malformed"
REDIRECT = "redirect"
UNSAFE_URL = "unsafe_url"
UNFINISHED = "unfinished"
REFUSED = "refused"

UNAVAILABLE_HINT = "nothing to change on your side; the next run retries and finishes the work"
SHOWN_TEXT_MAX = 300


@dataclass
class ApiError(Exception):
    """A Mailchimp error in plain terms: HTTP status (None without one), title, detail, field errors, its class
    (``kind``), where it happened (``url``: host and path only) and whether a retry can help (``transient``)."""

    status: int | None
    title: str
    detail: str
    errors: list = field(default_factory=list)
    kind: str = REFUSED
    url: str = ""
    transient: bool = False

    def __str__(self) -> str:
        return f"{self.title}: {self.detail}" if self.detail else self.title

    @property
    def rejects_key(self) -> bool:
        """Mailchimp refused the API key itself (a settings problem, not one of this request)."""
        return self.kind == KEY_REJECTED

    @property
    def unavailable(self) -> bool:
        """Mailchimp could not be reached or was overloaded or failing."""
        return self.kind == UNAVAILABLE

    def without(self, secret: str) -> "ApiError":
        """The same error with ``secret`` removed from its texts (a hostile answer could echo the key)."""
        if secret:
            self.title = self.title.replace(secret, "********")
            self.detail = self.detail.replace(secret, "********")
        return self

    def to_host_error(self) -> Exception:
        """The host error the CLI shows: a rejected key is exit 3, everything else exit 1."""
        where = f" ({self.url})" if self.url else ""
        if self.kind == KEY_REJECTED:
            return SettingsInvalid(f"Mailchimp rejected the API key ({self})",
                                   hint=f"{KEY_HINT}; then `opus1-int configure mailchimp --api-key ...`")
        if self.kind == UNAVAILABLE:
            return OperationFailed(f"Mailchimp is unavailable: {self}{where}", hint=UNAVAILABLE_HINT)
        if self.kind == MALFORMED:
            return OperationFailed(f"Mailchimp sent an answer that cannot be used{where}: {self.detail}",
                                   hint=f"{UNAVAILABLE_HINT}; if it keeps happening, a proxy or filter between this "
                                        "machine and Mailchimp may be changing its answers")
        if self.kind == REDIRECT:
            return OperationFailed(f"{self}{where}", hint="redirects are never followed: a proxy or network filter may "
                                                          "be redirecting Mailchimp's answers; the next run retries")
        if self.kind in (UNSAFE_URL, UNFINISHED):
            return OperationFailed(f"{self}{where}", hint="the next run checks the audience again and sends what is "
                                                          "still missing")
        return OperationFailed(f"Mailchimp answered {self.status} {self}{where}",
                               hint="run again later; `opus1-int diagnose mailchimp` lists errors")


def http_error(status: int, problem: object, url: str, came_back: str) -> ApiError:
    """The error of an HTTP error status, from Mailchimp's problem document (``problem``, a dict when the body was
    JSON) or, when there is none, from what came back."""
    body = problem if isinstance(problem, dict) else {}
    title = _text(body.get("title")) or f"HTTP {status}"
    detail = _text(body.get("detail")) or ("" if body else came_back)
    errors = body.get("errors") if isinstance(body.get("errors"), list) else []
    if status in (401, 403) and title in KEY_TITLES:
        return ApiError(status, title, detail, errors, KEY_REJECTED, url)
    if status == 429 or status >= 500 or (status == 403 and not body):
        # 403 without a problem document: Mailchimp's overload answer (or a WAF page), not a verdict on the key
        return ApiError(status, title, detail or "Mailchimp sent an empty error response", errors, UNAVAILABLE, url,
                        transient=True)
    return ApiError(status, title, detail, errors, REFUSED, url)


def network_error(reason: str, url: str) -> ApiError:
    """Mailchimp could not be reached, or did not answer in time."""
    return ApiError(None, "Network error", reason, [], UNAVAILABLE, url, transient=True)


def malformed(detail: str, url: str, status: int | None = 200, *, transient: bool = True) -> ApiError:
    """An answer that cannot be used; ``transient`` when a retry may get a good one."""
    return ApiError(status, "Unusable answer", detail, [], MALFORMED, url, transient=transient)


def redirect(status: int, location: str | None, url: str) -> ApiError:
    """A redirect (never followed), naming the host it pointed to."""
    target = urlsplit(location or "").hostname or "an unnamed place"
    return ApiError(status, f"Mailchimp answered {status}",
                    f"a redirect to {shown(target, 80)} (not followed)", [], REDIRECT, url)


def shown(text: str, limit: int = SHOWN_TEXT_MAX) -> str:
    """``text`` safe to print: control and other unprintable characters escaped, at most ``limit`` characters."""
    head = text[:limit]
    if not head.isprintable():
        head = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in head)
    return head + ("…" if len(text) > limit else "")


def came_back(status: int, content_type: str | None, body: bytes, limit: int = 120) -> str:
    """What an answer held, in words: status, content type, size and its first bytes (escaped)."""
    start = body[:limit].decode("utf-8", "replace")
    more = "…" if len(body) > limit else ""
    return (f"HTTP {status}, content type {shown(content_type or 'none', 80)}, {len(body)} bytes"
            + (f", starting {shown(start, limit)}{more}" if body else ""))


def _text(value: object) -> str:
    return shown(value) if isinstance(value, str) else ""
