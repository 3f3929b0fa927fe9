"""Many Mailchimp sandboxes (one audience each) in one process, for the fleet benchmark.

    python bench/sandbox_farm.py N LATENCY_MS PER_MEMBER_MS

Prints one JSON line per sandbox (``base_url``, ``api_key``, ``audience_id``, ``username``, ``control_url``), then
``ready``, and serves until SIGTERM. Until the sandbox holds many audiences in one server, each studio of the fleet
gets a sandbox of its own; their servers wake every 2 s only (their poll interval bounds how fast ``shutdown``
answers, nothing else), so 500 idle sandboxes cost no CPU.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

from opus1_mailchimp.sandbox import Sandbox
from opus1_mailchimp.sandbox.server import SandboxServer

_serve_forever = SandboxServer.serve_forever


def _quiet_serve_forever(self, poll_interval: float = 0.5) -> None:
    _serve_forever(self, poll_interval=2.0)


def main() -> None:
    count, latency_ms, per_member_ms = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    SandboxServer.serve_forever = _quiet_serve_forever
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    for _ in range(count):
        sandbox = Sandbox(latency_ms=latency_ms, per_member_ms=per_member_ms).start()
        print(json.dumps({"base_url": sandbox.base_url, "api_key": sandbox.api_key, "audience_id": sandbox.audience_id,
                          "username": sandbox.username, "control_url": f"{sandbox.root_url}/_sandbox"}))
    print("ready", flush=True)
    done.wait()
    sys.stdout.flush()
    os._exit(0)  # no clean stop of N servers: the state is thrown away


if __name__ == "__main__":
    main()
