"""Benchmark the fleet: many small studios synced by one `opus1-int sync mailchimp --all` (issue 13).

    python bench/fleet.py [--studios 500] [--contacts 200] [--latency-ms 50] [--per-member-ms 0.5]
                          [--modes threads,processes] [--jobs N] [--sweep 16,32,64] [--quick]

Every studio has its own audience in one sandbox process at 50 ms per request; each pass is one real `opus1-int sync
mailchimp --all --json` process, timed from outside, with the CPU time of its whole process tree and of the sandboxes. The
passes, per mode (`--processes 0`: one process, a thread per studio in flight; `processes`: the default, a worker
process per CPU): first syncs into empty audiences, no-change re-syncs, and full compares (one contact renamed per
studio, so each reads and compares its whole audience and sends one update). ``--sweep`` repeats the first and
no-change passes of the worker processes at other ``--jobs``. Writes the figures to bench/results/fleet.json;
bench/README.md explains them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "examples"))

from generate_export import generate  # noqa: E402
from run import CLI, CONTACTS_PER_ACCOUNT, SandboxProcess, timed_child  # noqa: E402


def say(message: str) -> None:
    """A progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Farm(SandboxProcess):
    """One sandbox process (run.py's) holding an audience per studio, all under its one key, its connection limit
    raised for the fleet (each real studio has a key and a limit of its own)."""

    def __init__(self, count: int, latency_ms: float, per_member_ms: float, log: Path):
        super().__init__(latency_ms, per_member_ms, log, max_connections=max(100, 20 * count))
        ids = [f"studio{i:04d}" for i in range(count)]  # an audience id is letters and digits
        self.control("POST", "/audiences", [{"id": audience} for audience in ids])
        self.sandboxes = [{**self.info, "audience_id": audience} for audience in ids]

    def reset(self) -> None:
        """Empty every audience (and the request log)."""
        self.control("POST", "/reset")


def make_exports(folder: Path, studios: int, contacts: int) -> list[Path]:
    """One export per studio of about ``contacts`` contacts (seed = the studio's number)."""
    folder.mkdir(parents=True, exist_ok=True)
    accounts = math.ceil(contacts / CONTACTS_PER_ACCOUNT)
    paths = []
    for i in range(studios):
        path = folder / f"studio-{i:04d}.jsonl"
        generate(path, accounts, seed=1000 + i)
        paths.append(path)
    return paths


def rename_one(path: Path) -> None:
    """Change the last name of the export's first account manager (one contact differs: a full compare)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    account = json.loads(lines[0])
    account["account_manager"]["last_name"] += "-Novak"
    lines[0] = json.dumps(account, ensure_ascii=False) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def configure_all(home: Path, farm: Farm, exports: list[Path]) -> None:
    """Configure every studio in ``home`` through the services layer (the live checks included), 16 at a time."""
    os.environ["OPUS1_INT_HOME"] = str(home)
    from opus1_integrations.host import Host
    from opus1_integrations.plugins import Plugins
    from opus1_integrations.services.configure import configure
    from opus1_integrations.state import open_db

    plugins = Plugins()
    plugins.load_entry_points()
    local = threading.local()

    def one(i: int) -> None:
        if not hasattr(local, "host"):
            local.host = Host(plugins, open_db())
        info = farm.sandboxes[i]
        configure(local.host, "mailchimp", f"studio-{i:04d}",
                  {"user_id": info["username"], "api_key": info["api_key"], "audience_id": info["audience_id"],
                   "api_url": info["base_url"]}, contacts_path=str(exports[i]))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(len(exports))))


def sync_all(env: dict, extra: list[str], farm: Farm) -> dict:
    """One `opus1-int sync mailchimp --all --json` pass: wall seconds, CPU seconds of its process tree (workers
    included: wait4 of a launcher counts the waited-for descendants) and of the sandboxes, and the outcomes."""
    before, load_before = farm.cpu(), os.getloadavg()[0]
    seconds, cpu, _, out, code = timed_child(CLI + ["sync", "mailchimp", "--all", "--json", *extra], env, tree=False)
    sandbox_cpu = farm.cpu() - before
    results = json.loads(out or "[]")
    if code or not results:
        raise RuntimeError(f"sync --all exited {code}")
    outcomes: dict[str, int] = {}
    for r in results:
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    synced = max(outcomes.get("ok", 0), 1)
    return {"seconds": seconds, "cpu_s": cpu, "sandbox_cpu_s": sandbox_cpu, "outcomes": outcomes,
            "per_second": synced / seconds, "cpu_ms_per_studio": 1000 * cpu / synced,
            "sandbox_ms_per_studio": 1000 * sandbox_cpu / synced,
            # what the machine's cores could do if they did nothing else: its CPUs over the CPU time per studio
            "cpu_ceiling": (os.cpu_count() or 1) * synced / (cpu + sandbox_cpu),
            "load": (load_before + os.getloadavg()[0]) / 2,
            "writes": sum(r["counts"].get("writes", 0) for r in results),
            "requests": sum(r["counts"].get("requests", 0) for r in results),
            "nothing_changed": sum(bool(r["counts"].get("nothing_changed")) for r in results)}


def fresh(mode: str, folder: Path, farm: Farm, configured: Path, exports: list[Path]) -> dict:
    """A copy of the configured state, the original exports and empty audiences: the environment of one series."""
    home = folder / f"home-{mode}"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(configured, home)
    for path, original in zip(exports, sorted((folder / "exports-original").iterdir())):
        shutil.copyfile(original, path)
    farm.reset()
    return {**os.environ, "OPUS1_INT_HOME": str(home), "OPUS1_INT_LOAD_PLUGINS": "mailchimp"}


def db_mb(env: dict) -> float:
    """The size of the state database (and its WAL) in MB."""
    home = Path(env["OPUS1_INT_HOME"])
    return sum(p.stat().st_size for p in home.glob("opus1-integrations.db*")) / 2**20


def run_mode(mode: str, jobs: int | None, folder: Path, farm: Farm, configured: Path, exports: list[Path],
             full: bool = True) -> dict:
    """The passes of one mode, from a fresh copy of the configured state and empty audiences."""
    env = fresh(mode, folder, farm, configured, exports)
    extra = ["--processes", "0"] if mode == "threads" else []
    if jobs:
        extra += ["--jobs", str(jobs)]
    label = f"{mode}{f' --jobs {jobs}' if jobs else ''}"
    figures = {}
    say(f"{label}: first syncs of {len(exports)} studios")
    figures["first"] = sync_all(env, extra, farm)
    figures["db_mb_after_first"] = db_mb(env)
    say(f"{label}: no-change re-syncs")
    figures["no_change"] = sync_all(env, extra + ["--force"], farm)
    if full:
        for path in exports:
            rename_one(path)
        say(f"{label}: full compares (one contact renamed per studio)")
        figures["full_compare"] = sync_all(env, extra + ["--force"], farm)
        figures["db_mb_after_full_compare"] = db_mb(env)
    for name in ("first", "no_change", "full_compare"):
        if name in figures:
            f = figures[name]
            say(f"  {name}: {f['per_second']:.1f}/s, {f['seconds']:.1f} s, CPU {f['cpu_ms_per_studio']:.1f} ms/studio "
                f"+ sandbox {f['sandbox_ms_per_studio']:.1f} ms; ceiling {f['cpu_ceiling']:.0f}/s; load "
                f"{f['load']:.1f}; {f['outcomes']}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studios", type=int, default=500)
    parser.add_argument("--contacts", type=int, default=200, help="contacts per studio (about)")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--per-member-ms", type=float, default=0.5)
    parser.add_argument("--modes", default="threads,processes", help="comma-separated: threads, processes")
    parser.add_argument("--jobs", type=int, help="--jobs of every pass (default: the command's own default)")
    parser.add_argument("--sweep", default="", help="other --jobs for the worker processes, e.g. 16,64")
    parser.add_argument("--quick", action="store_true", help="50 studios: a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.studios = 50
    with tempfile.TemporaryDirectory(prefix="opus1-fleet-") as tmp:
        folder = Path(tmp)
        say(f"generating {args.studios} exports of about {args.contacts} contacts")
        originals = make_exports(folder / "exports-original", args.studios, args.contacts)
        exports = [folder / "exports" / p.name for p in originals]
        (folder / "exports").mkdir()
        for original, path in zip(originals, exports):
            shutil.copyfile(original, path)
        say(f"starting a sandbox of {args.studios} audiences at {args.latency_ms:g} ms")
        farm = Farm(args.studios, args.latency_ms, args.per_member_ms, folder / "farm.log")
        try:
            say("configuring the studios")
            configure_all(folder / "configured", farm, exports)
            results = {mode: run_mode(mode, args.jobs, folder, farm, folder / "configured", exports)
                       for mode in args.modes.split(",")}
            sweep = {int(j): run_mode("processes", int(j), folder, farm, folder / "configured", exports, full=False)
                     for j in filter(None, args.sweep.split(","))}
        finally:
            farm.stop()
    show(results, sweep, args)
    out = HERE / "results" / "fleet.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               "settings": vars(args), "cpus": os.cpu_count(), "results": results, "sweep": sweep},
                              indent=2))
    say(f"written to {out}")


def show(results: dict, sweep: dict, args) -> None:
    """The figures as one table on stdout."""
    print(f"{args.studios} studios of about {args.contacts} contacts, a sandbox at {args.latency_ms:g} ms, "
          f"{os.cpu_count()} CPUs")
    print(f"{'pass':<34}{'studios/s':>10}{'wall s':>8}{'CPU ms/studio':>15}{'sandbox ms':>11}{'CPU ceiling/s':>14}"
          f"{'load':>6}")
    rows = [(f"{mode} {name}", f) for mode, figures in results.items() for name, f in figures.items()
            if isinstance(f, dict)]
    rows += [(f"processes --jobs {jobs} {name}", f) for jobs, figures in sweep.items() for name, f in figures.items()
             if isinstance(f, dict)]
    for name, f in rows:
        print(f"{name:<34}{f['per_second']:>10.1f}{f['seconds']:>8.1f}{f['cpu_ms_per_studio']:>15.1f}"
              f"{f['sandbox_ms_per_studio']:>11.1f}{f['cpu_ceiling']:>14.0f}{f['load']:>6.1f}")
    if "threads" in results and "processes" in results:
        for name in ("first", "no_change", "full_compare"):
            ratio = results["processes"][name]["per_second"] / results["threads"][name]["per_second"]
            print(f"processes / threads, {name}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
