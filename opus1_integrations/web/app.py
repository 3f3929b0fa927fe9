"""``create_app``: the Integrations tab as an ASGI app (Starlette + Jinja2), standalone or mounted in opus1.

Every page runs its work in a worker thread with that thread's own ``Host`` (SQLite connections stay in the thread
that opened them), after checking who asks: a business sees its own pages only, an operator every business's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__, state
from ..clock import to_the_second
from ..errors import Opus1Error, UsageError
from ..host import Host
from ..plugins import Plugins
from ..redaction import scrub
from ..services import exports
from ..services.words import facts_text, outcome_word, outcomes_in_words
from . import signin
from .access import CSRF_FIELD, SESSION_COOKIE, Guard, Identify, check_csrf, csrf_cookie, csrf_token
from .jobs import Jobs
from .signin import Principal

HERE = Path(__file__).parent
MAX_BODY = 256 * 1024


class Web:
    """What the pages share: the plugins, who is asking, a ``Host`` per worker thread, the background syncs."""

    def __init__(self, plugins: Plugins, identify: Identify | None):
        self.plugins = plugins
        self.identify = identify
        self.jobs = Jobs(plugins)
        self._local = threading.local()
        self._key: bytes | None = None
        self.router = None
        db = state.open_db()
        try:
            state.apply_migrations(db, signin.migrations)
        finally:
            db.conn.close()
        self.templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                            trim_blocks=True, lstrip_blocks=True,
                                            undefined=jinja2.StrictUndefined)
        self.templates.filters.update(counts=outcomes_in_words, facts=facts_text, scrub=scrub,
                                      outcome=outcome_word,
                                      when=to_the_second)

    @property
    def key(self) -> bytes:
        """The HMAC key (CSRF tokens, sign-in links), read once."""
        if self._key is None:
            self._key = signin.secret_key()
        return self._key

    def host(self) -> Host:
        """This worker thread's host, with its own connection to the state database."""
        host = getattr(self._local, "host", None)
        if host is None:
            host = self._local.host = Host(self.plugins, state.open_db())
        return host

    def principal(self, request: Request) -> Principal | None:
        """Who is asking: the embedding platform says (``identify``), or standalone, the session cookie."""
        if self.identify is not None:
            return self.identify(request)
        return signin.session_principal(self.host().db, request.cookies.get(SESSION_COOKIE))

    def link(self, request: Request, route: str, query: dict | None = None, /, **params) -> str:
        """The path of a page (under the mount point), with an optional query string."""
        path = request.scope.get("root_path", "") + self.router.url_path_for(route, **params)
        shown = {k: v for k, v in (query or {}).items() if v not in (None, "")}
        return path + ("?" + urlencode(shown) if shown else "")

    def render(self, request: Request, template: str, status: int = 200, principal: Principal | None = None,
               **context) -> HTMLResponse:
        """A page from its template; every form on it gets the CSRF token."""
        html = self.templates.get_template(template).render(
            link=partial(self.link, request), principal=principal, standalone=self.identify is None,
            csrf_field=CSRF_FIELD, csrf=csrf_token(self.key, csrf_cookie(request), principal),
            version=__version__, **context)
        return HTMLResponse(html, status_code=status)


def page(web: Web, handler: Callable, *, post: bool = False, business: bool = True, operator: bool = False,
         public: bool = False):
    """An endpoint around ``handler(request, host, principal, form)``: reads the form (POST), then in a worker
    thread checks who asks (401 / 403), the CSRF token (POST, 403) and calls the handler."""

    def run(request: Request, form) -> Response:
        host = web.host()
        principal = None if public else web.principal(request)
        if not public:
            if principal is None:
                raise HTTPException(401, "You are not signed in. Open a sign-in link (`opus1-int web link "
                                         "--business ID` prints one) or sign in to opus1 again.")
            if operator and not principal.operator:
                raise HTTPException(403, "This page is for the people who run opus1 integrations for every studio.")
            wanted = request.path_params.get("business")
            if business and wanted is not None and not principal.may_see(wanted):
                raise HTTPException(403, "You are not signed in for this business, so this page is not yours to see.")
        if post:
            check_csrf(form, request, web.key, principal)
        return handler(request, host, principal, form)

    async def endpoint(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=200, max_part_size=64 * 1024) if post else None
        return await run_in_threadpool(run, request, form)

    return endpoint


def create_app(plugins: Plugins | None = None, *, identify: Identify | None = None,
               frame_ancestors: str = "'none'") -> Starlette:
    """The Integrations tab as an ASGI app.

    ``plugins``: the installed plugins by default. ``identify``: when opus1's platform mounts the app, a function of
    the request returning who is signed in (a ``Principal``) or ``None``; without it the app runs standalone with
    sign-in links and its own sessions. ``frame_ancestors``: the CSP ``frame-ancestors`` value (the embedding
    host's origin, when the tab is framed). docs/web.md describes the contract.
    """
    if plugins is None:
        plugins = Plugins()
        plugins.load_entry_points()
    web = Web(plugins, identify)
    exports.keep_loaded()  # a long-running process: pages reuse loaded exports
    from . import pages  # the handlers need ``page`` and ``Web`` from here

    routes = [Route(path, page(web, handler, **options), methods=["POST"] if options.get("post") else ["GET"],
                    name=name) for name, path, handler, options in pages.ROUTES(web)]
    routes.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))
    app = Starlette(routes=routes, middleware=[Middleware(Guard, frame_ancestors=frame_ancestors)],
                    exception_handlers={HTTPException: partial(_http_error, web),
                                        Opus1Error: partial(_domain_error, web)},
                    max_body_size=MAX_BODY)
    web.router = app.router
    app.state.web = web
    return app


async def _http_error(web: Web, request: Request, exc: HTTPException) -> Response:
    titles = {401: "Please sign in", 403: "Not allowed", 404: "Not found", 405: "Not allowed", 413: "Too large"}
    return web.render(request, "message.html", exc.status_code, title=titles.get(exc.status_code, "Error"),
                      message=exc.detail if exc.status_code in (401, 403, 413) else
                      "There is no such page." if exc.status_code == 404 else str(exc.detail), hint=None)


async def _domain_error(web: Web, request: Request, exc: Opus1Error) -> Response:
    status = 404 if isinstance(exc, UsageError) else 409
    return web.render(request, "message.html", status, title="That did not work", message=scrub(exc.message),
                      hint=scrub(exc.hint) if exc.hint else None)
