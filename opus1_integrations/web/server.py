"""Serving the app with uvicorn: in the foreground (``opus1-int web serve``) or in a thread (tests, benchmarks).

uvicorn's own access log is off (it would print query strings); the app logs one line per request without them
(``access.Guard``). The socket is bound first, so port 0 picks a free port and the sign-in link names the real one.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
import threading
import time

import uvicorn

from .access import access_log

LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off only on sockets that name TCP, and with it on, every
    # response on a kept-alive connection waits ~40 ms for the browser's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def config(app, *, log_requests: bool = True) -> uvicorn.Config:
    """uvicorn's configuration: its access log off (ours has no query strings), no server header, warnings only."""
    if log_requests and not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    return uvicorn.Config(app, access_log=False, log_level="warning", server_header=False, lifespan="off")


class Background:
    """The app served by uvicorn in a daemon thread on a loopback port: ``url``, then ``stop()``."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        self.sock = bind(host, port)
        self.url = base_url(self.sock)
        self.server = uvicorn.Server(config(app, log_requests=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True,
                                       name="opus1-web")

    def start(self) -> "Background":
        """Start serving; returns once uvicorn is ready."""
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
