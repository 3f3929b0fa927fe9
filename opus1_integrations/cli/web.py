"""``opus1-int web serve`` (the Integrations tab in a browser) and ``opus1-int web link`` (a sign-in link)."""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from typing import Annotated, Optional

import typer

from ..errors import UsageError
from ..host import Host
from ..output import messages

web_app = typer.Typer(name="web", no_args_is_help=True,
                      help="The Integrations tab in a browser: serve it, or print a sign-in link.")

DEFAULT_PORT = 8470
DEFAULT_BASE_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
_BASE_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")


# The web package (Starlette, Jinja2, uvicorn) is imported inside the commands: other commands start without it.


def _principal(business: str | None, operator: bool):
    from ..web import Principal

    if operator == (business is not None):
        raise UsageError("give either --business ID or --operator", hint="a link signs in one business, or an "
                                                                         "operator who sees every business")
    return Principal(business=business, operator=operator)


def _link(host: Host, base: str, principal, minutes: float) -> str:
    from ..web import signin

    token = signin.issue_link_token(host.db, signin.secret_key(), principal, timedelta(minutes=minutes))
    return f"{base.rstrip('/')}/signin?token={token}"


def _say_link(url: str, principal, minutes: float) -> None:
    who = "an operator (every business)" if principal.operator else f"business {principal.business}"
    messages().print(f"Sign-in link for {who}, valid once within {minutes:g} minutes:", markup=False)
    sys.stdout.write(url + "\n")
    sys.stdout.flush()


@web_app.command("link")
def link_command(
    ctx: typer.Context,
    business: Annotated[Optional[str], typer.Option("--business", "-b", help="Sign in this business.")] = None,
    operator: Annotated[bool, typer.Option("--operator", help="Sign in an operator, who sees every business.")] = False,
    base_url: Annotated[str, typer.Option("--base-url", metavar="URL",
                                          help="Where the tab is served.")] = DEFAULT_BASE_URL,
    valid_for: Annotated[float, typer.Option("--valid-for", metavar="MINUTES", min=0.1, max=24 * 60,
                                             help="How long the link can be used (once).")] = 15,
) -> None:
    """Print a one-time sign-in link (alone on its stdout line) for a business, or for the operator view."""
    if not _BASE_URL.fullmatch(base_url):
        raise UsageError(f"--base-url {base_url!r} is not an http(s) URL", hint="e.g. --base-url https://int.example")
    principal = _principal(business, operator)
    _say_link(_link(ctx.obj, base_url, principal, valid_for), principal, valid_for)


@web_app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="The address to listen on (this machine only by default).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="The port (0: any free one).")] = DEFAULT_PORT,
    allow_remote: Annotated[bool, typer.Option("--allow-remote",
                                               help="Allow a --host other machines can reach.")] = False,
    business: Annotated[Optional[str], typer.Option("--business", "-b", help="Print a sign-in link for this "
                                                    "business instead of the operator's.")] = None,
    no_link: Annotated[bool, typer.Option("--no-link", help="Print no sign-in link.")] = False,
) -> None:
    """Serve the Integrations tab until Ctrl-C, printing a sign-in link (the operator's unless --business)."""
    import uvicorn

    from ..web import create_app
    from ..web.server import base_url, bind, config, is_loopback

    if not is_loopback(host):
        if not allow_remote:
            raise UsageError(f"--host {host} would let other machines reach the tab",
                             hint="serve on 127.0.0.1 behind a reverse proxy with https, or add --allow-remote")
        messages().print(f"[yellow]Warning:[/] serving on {host}: anyone who can reach it can try to sign in, and "
                       "without https (a reverse proxy in front) cookies and links travel in clear text.")
    sock = bind(host, port)
    base = base_url(sock)
    app = create_app(ctx.obj.plugins)
    messages().print(f"Serving the Integrations tab on {base} (Ctrl-C stops it).", markup=False)
    if not no_link:
        principal = _principal(business, business is None)
        _say_link(_link(ctx.obj, base, principal, 15), principal, 15)
    try:
        uvicorn.Server(config(app)).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn stopped cleanly, then passed the signal on
        pass
    messages().print("Stopped.", markup=False)
