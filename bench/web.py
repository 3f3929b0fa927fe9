"""Benchmark the Integrations tab's pages with a 100,000-contact studio (issue 16: pages answer in under 100 ms).

    python bench/web.py [--contacts 100000] [--repeat 20] [--refused 200]

Builds a studio: the generated export (examples/generate_export.py, seed 1), configured against the Mailchimp
sandbox (in this process, no latency) and synced once for real, with ``--refused`` of its addresses permanently
deleted in the sandbox so the run has failures to page through. Then serves the app with uvicorn on a loopback port
and times each page over real HTTP, signed in, ``--repeat`` times after one warm-up; the baseline is the app's own
floor measured in the same run: its stylesheet, through the same server and middleware. Prints medians and p95s and
writes every figure to bench/results/web.json (git-ignored). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "examples"))

from generate_export import generate  # noqa: E402
from run import CONTACTS_PER_ACCOUNT  # noqa: E402

TARGET_MS = 100.0


def build_studio(folder: Path, contacts: int, refused: int, say) -> dict:
    """Export, configure and sync a studio of ``contacts`` contacts; returns what the pages need."""
    from opus1_mailchimp.sandbox import Sandbox

    from opus1_integrations.contacts import load_audience
    from opus1_integrations.host import Host
    from opus1_integrations.plugins import Plugins
    from opus1_integrations.services.configure import configure
    from opus1_integrations.services.sync import sync_business

    export = folder / "export.jsonl"
    generate(export, math.ceil(contacts / CONTACTS_PER_ACCOUNT), seed=1)
    with load_audience(export) as audience:
        keys = [c.key for c in audience.contacts()]
    say(f"export: {len(keys):,} contacts")
    sandbox = Sandbox().start()
    for key in keys[::max(1, len(keys) // refused)][:refused]:
        sandbox.seed_member(key, forgotten=True)
    plugins = Plugins()
    plugins.load_entry_points()
    host = Host(plugins)
    configure(host, "mailchimp", "studio", {"user_id": sandbox.username, "api_key": sandbox.api_key,
                                            "audience_id": sandbox.audience_id, "api_url": sandbox.base_url},
              contacts_path=str(export))
    started = time.perf_counter()
    result = sync_business(host, "mailchimp", "studio")
    say(f"sync: run {result.run_id} {result.status} in {time.perf_counter() - started:.1f} s")
    if result.failure is not None:
        raise SystemExit(f"the sync failed: {result.failure.message} ({result.failure.hint})")
    return {"sandbox": sandbox, "plugins": plugins, "run_id": result.run_id, "keys": keys,
            "items": sum(v for k, v in result.counts.items() if k in ("created", "failed", "skipped"))}


class Browser:
    """One keep-alive HTTP connection with the session's cookies (http.client: no client-side delays)."""

    def __init__(self, url: str):
        host, port = url.removeprefix("http://").rsplit(":", 1)
        self.connection = http.client.HTTPConnection(host, int(port), timeout=300)
        self.cookies: dict[str, str] = {}

    def get(self, path: str) -> tuple[int, bytes]:
        """GET ``path``; keeps the cookies it sets."""
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = self.connection.getresponse()
        body = response.read()
        for header in response.headers.get_all("set-cookie") or []:
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        return response.status, body


def stats_ms(work, repeat: int) -> dict:
    """Call ``work()`` once to warm up, then time ``repeat`` calls: their median, p95 and the sorted runs, in ms."""
    def once() -> float:
        started = time.perf_counter()
        work()
        return (time.perf_counter() - started) * 1000

    once()
    runs = sorted(once() for _ in range(repeat))
    return {"median_ms": statistics.median(runs), "p95_ms": runs[max(0, math.ceil(0.95 * repeat) - 1)],
            "runs_ms": runs}


def timed(client: Browser, path: str, repeat: int) -> dict:
    """One warm-up, then ``repeat`` timed GETs of ``path`` (each must answer 200)."""
    def get() -> None:
        status, _ = client.get(path)
        assert status == 200, f"{path}: {status}"

    return {"path": path, **stats_ms(get, repeat)}


def live_parts(studio: dict, repeat: int) -> list[dict]:
    """In this process, the parts of the errors and verify pages that ask the service (here the sandbox, holding the
    whole audience): the plugin's live checks, and 20 contacts compared live."""
    from opus1_integrations.host import Host
    from opus1_integrations.services import exports

    host = Host(studio["plugins"])
    configured = host.configured("mailchimp", "studio")
    integration, context = configured.integration, host.context(configured.integration, "studio")
    with exports.shared_audience(configured.stored.contacts_path) as audience:
        sample = [audience.contact(key) for key in studio["keys"][:: len(studio["keys"]) // 20][:20]]
    return [{"page": name, "path": None, **stats_ms(work, repeat)} for name, work in (
        ("  of errors: the live checks", lambda: integration.diagnose(context, configured.settings)),
        ("  of verify: 20 compared live", lambda: integration.verify(context, configured.settings, sample)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--refused", type=int, default=200)
    args = parser.parse_args()

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="opus1-web-bench-") as tmp:
        os.environ["OPUS1_INT_HOME"] = str(Path(tmp) / "home")
        private = Path(tmp) / "tmp"  # the loaders' temporary files, out of reach of other jobs on the machine
        private.mkdir()
        os.environ["TMPDIR"] = tempfile.tempdir = str(private)
        from opus1_integrations import state
        from opus1_integrations.web import Principal, create_app, signin
        from opus1_integrations.web.server import Background

        studio = build_studio(Path(tmp), args.contacts, args.refused, say)
        server = Background(create_app(studio["plugins"])).start()
        db = state.open_db()
        token = signin.issue_link_token(db, signin.secret_key(), Principal(operator=True))
        run, last_page = studio["run_id"], math.ceil(len(studio["keys"]) / 50)
        pages = [
            ("floor: the stylesheet (baseline)", "/static/style.css"),
            ("the tab", "/b/studio/integrations"),
            ("settings", "/b/studio/integrations/mailchimp/settings"),
            ("run history", "/b/studio/integrations/mailchimp/runs"),
            ("a run, page 1 (refused first)", f"/b/studio/runs/{run}"),
            ("a run, its last page", f"/b/studio/runs/{run}?page={last_page}"),
            ("a run, created only, page 1000", f"/b/studio/runs/{run}?outcome=created&page=1000"),
            ("operator overview", "/"),
            ("errors and notifications", "/b/studio/errors"),
            ("check a client", f"/b/studio/integrations/mailchimp/check?q={studio['keys'][len(studio['keys']) // 2]}"),
            ("verify 20 entries", "/b/studio/integrations/mailchimp/verify?sample=20"),
        ]
        try:
            client = Browser(server.url)
            assert client.get(f"/signin?token={token}")[0] == 303
            started = time.perf_counter()
            assert client.get("/b/studio/integrations")[0] == 200  # the tab starts loading the export
            assert client.get("/b/studio/errors")[0] == 200  # waits for it
            say(f"first errors page after opening the tab (export loading): {time.perf_counter() - started:.1f} s")
            results = [{"page": name, **timed(client, path, args.repeat)} for name, path in pages]
            results += live_parts(studio, args.repeat)
        finally:
            server.stop()
            studio["sandbox"].stop()
    floor = results[0]["median_ms"]
    print(f"{'page':38} {'median ms':>10} {'p95 ms':>8} {'x floor':>8}  under {TARGET_MS:g} ms")
    for r in results:
        met = "" if r["path"] is None else "yes" if r["median_ms"] < TARGET_MS else "NO"
        print(f"{r['page']:38} {r['median_ms']:10.1f} {r['p95_ms']:8.1f} {r['median_ms'] / floor:8.1f}  {met}")
    out = HERE / "results" / "web.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"contacts": len(studio["keys"]), "repeat": args.repeat, "pages": results}, indent=2))
    say(f"figures: {out}")


if __name__ == "__main__":
    main()
