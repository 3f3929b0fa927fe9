"""Who may see a page, CSRF tokens, and what every response carries: security headers, the CSRF cookie, and an
access log line without query strings or sign-in tokens."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .signin import Principal

SESSION_COOKIE = "opus1_int_session"
CSRF_COOKIE = "opus1_int_csrf"
CSRF_FIELD = "csrf_token"

access_log = logging.getLogger("opus1_integrations.web.access")

Identify = Callable[[Request], "Principal | None"]


def csrf_token(key: bytes, cookie: str, principal: Principal | None) -> str:
    """The token every form carries: an HMAC of the browser's CSRF cookie and who is signed in."""
    who = principal.key if principal else "nobody"
    return hmac.new(key, f"csrf|{cookie}|{who}".encode(), hashlib.sha256).hexdigest()


def csrf_cookie(request: Request) -> str:
    """This browser's CSRF cookie (a new one, set by ``Guard`` on the response, when it has none yet)."""
    return request.scope["opus1.csrf_cookie"]


def check_csrf(form, request: Request, key: bytes, principal: Principal | None) -> None:
    """Refuse (403, nothing done) a submitted form whose CSRF token is missing or wrong."""
    given = form.get(CSRF_FIELD) if form is not None else None
    if not isinstance(given, str) or not hmac.compare_digest(given, csrf_token(key, csrf_cookie(request), principal)):
        raise HTTPException(403, "This form is out of date or did not come from this site (its security token is "
                                 "missing or wrong), so nothing was changed. Reload the page and try again.")


def security_headers(frame_ancestors: str, *, no_store: bool) -> dict[str, str]:
    """The headers every response carries; ``no_store`` for pages (they show a business's data and settings)."""
    headers = {
        "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                   f"base-uri 'none'; frame-ancestors {frame_ancestors}",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cross-origin-opener-policy": "same-origin",
    }
    if frame_ancestors == "'none'":
        headers["x-frame-options"] = "DENY"
    if no_store:
        headers["cache-control"] = "no-store"
    return headers


class Guard:
    """ASGI middleware: security headers on every response, a CSRF cookie for browsers that have none, and one
    access-log line per request (method, path without the query string, status, milliseconds)."""

    def __init__(self, app: ASGIApp, frame_ancestors: str = "'none'"):
        self.app = app
        self.frame_ancestors = frame_ancestors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Request(scope).cookies.get(CSRF_COOKIE, "")  # the parser the pages read cookies with
        new_cookie = None
        if 20 <= len(given) <= 100:
            scope["opus1.csrf_cookie"] = given
        else:
            scope["opus1.csrf_cookie"] = new_cookie = secrets.token_urlsafe(32)
        static = _route_path(scope).startswith("/static/")
        started, status = time.perf_counter(), [0]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in security_headers(self.frame_ancestors, no_store=not static).items():
                    headers[name] = value
                if new_cookie and not static:
                    headers.append("set-cookie", cookie_header(scope, CSRF_COOKIE, new_cookie, same_site="strict"))
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            access_log.info("%s %s %s %.1fms", scope["method"], scope["path"], status[0],
                            (time.perf_counter() - started) * 1000)


def cookie_header(scope: Scope, name: str, value: str, *, same_site: str = "lax", max_age: int | None = None) -> str:
    """A ``Set-Cookie`` value: HttpOnly, SameSite, scoped to the app's path, Secure when served over https."""
    parts = [f"{name}={value}", f"Path={scope.get('root_path') or '/'}", "HttpOnly", f"SameSite={same_site.title()}"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if scope.get("scheme") == "https":
        parts.append("Secure")
    return "; ".join(parts)


def _route_path(scope: Scope) -> str:
    """The request's path below the app's mount point."""
    root, path = scope.get("root_path", ""), scope["path"]
    return path[len(root):] if root and path.startswith(root) else path
