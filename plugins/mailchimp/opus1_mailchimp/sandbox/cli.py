"""``python -m opus1_mailchimp.sandbox``: run a sandbox in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .core import DEFAULT_API_KEY, DEFAULT_AUDIENCE_ID, DEFAULT_USERNAME, Sandbox

DEFAULT_PORT = 8465


def serve_forever_cli(port: int = DEFAULT_PORT, api_key: str | None = None, audience_id: str | None = None,
                      username: str | None = None, latency_ms: float = 0.0, per_member_ms: float = 0.0,
                      state_file: str | os.PathLike | None = None, seed: int = 0, host: str = "127.0.0.1",
                      max_connections: int = 10) -> None:
    """Serve a sandbox until SIGINT/SIGTERM (call from the main thread). Prints ``name: value`` lines to stdout
    (``base_url``, ``api_key``, ``audience_id``, ``username``, ``control_url``); None means the default."""
    sandbox = Sandbox(api_key=api_key or DEFAULT_API_KEY, audience_id=audience_id or DEFAULT_AUDIENCE_ID,
                      username=username or DEFAULT_USERNAME, host=host, port=port, latency_ms=latency_ms,
                      per_member_ms=per_member_ms, seed=seed, state_file=state_file, max_connections=max_connections)
    done = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with sandbox:
            print(f"base_url: {sandbox.base_url}\napi_key: {sandbox.api_key}\naudience_id: {sandbox.audience_id}\n"
                  f"username: {sandbox.username}\ncontrol_url: {sandbox.root_url}/_sandbox", flush=True)
            print("Mailchimp sandbox running on loopback (nothing reaches Mailchimp); Ctrl-C stops it.",
                  file=sys.stderr, flush=True)
            done.wait()  # no timeout: an idle sandbox process wakes for nothing (signals still interrupt the wait)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Mailchimp sandbox stopped.", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m opus1_mailchimp.sandbox",
                                     description="A local, stateful emulator of the Mailchimp Marketing API v3.0.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (keep it on loopback)")
    parser.add_argument("--api-key", help=f"the key the sandbox accepts (default {DEFAULT_API_KEY})")
    parser.add_argument("--audience-id", help=f"the audience it serves (default {DEFAULT_AUDIENCE_ID})")
    parser.add_argument("--username", help=f"the account's username (default {DEFAULT_USERNAME})")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    parser.add_argument("--per-member-ms", type=float, default=0.0,
                        help="added per member of a batch subscribe and per batch operation")
    parser.add_argument("--state", help="keep the audience in this JSON file (loaded at start, saved on changes)")
    parser.add_argument("--seed", type=int, default=0, help="seed for ids and fault injection")
    parser.add_argument("--max-connections", type=int, default=10,
                        help="requests in flight before a 429 (Mailchimp: 10 per key; a fleet sharing this sandbox's "
                             "one key needs 10 per studio syncing at once)")
    args = parser.parse_args(argv)
    serve_forever_cli(port=args.port, api_key=args.api_key, audience_id=args.audience_id, username=args.username,
                      latency_ms=args.latency_ms, per_member_ms=args.per_member_ms, state_file=args.state,
                      seed=args.seed, host=args.host, max_connections=args.max_connections)
    return 0
