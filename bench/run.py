"""Benchmark the Mailchimp sync against the naive approach and the latency model's lower bound (issue 6).

    python bench/run.py [--accounts N] [--naive-n M] [--latency-ms 50] [--per-member-ms 0.5]
                        [--rules-accounts 1000000] [--repeat 3] [--large 1000000 [--large-repeat 1]] [--quick]

The sandbox runs in its own process with the latency model; every sync is a real `opus1-int sync mailchimp --json`
subprocess, timed from outside, with its CPU time and peak RSS from wait4(). Prints one table and writes the figures
as JSON to bench/results/latest.json. bench/README.md explains the rows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "examples"))

from generate_export import generate  # noqa: E402

CONTACTS_PER_ACCOUNT = 0.86  # eligible contacts per generated account (measured: 17,188 from 20,000)
BATCH = 500  # members per batch-subscribe call
CONNECTIONS = 10  # Mailchimp's simultaneous connections per key
PAGE = 1000  # members per page read
CLI = [str(Path(sys.executable).with_name("opus1-int"))]


class SandboxProcess:
    """`python -m opus1_mailchimp.sandbox` in its own process, with its `/_sandbox` control surface
    (``max_connections``: its simultaneous connections per key, None for the sandbox's default)."""

    def __init__(self, latency_ms: float, per_member_ms: float, log: Path, max_connections: int | None = None):
        self.log = log.open("w")
        limit = [] if max_connections is None else ["--max-connections", str(max_connections)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opus1_mailchimp.sandbox", "--port", "0",
             "--latency-ms", str(latency_ms), "--per-member-ms", str(per_member_ms), *limit],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.info = {}
        while "control_url" not in self.info:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the sandbox did not start; see {log}")
            name, _, value = line.strip().partition(": ")
            self.info[name] = value

    def control(self, method: str, path: str, body: object = None) -> object:
        """Call the control surface; returns the parsed answer (None for 204)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.info["control_url"] + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=600) as answer:
            raw = answer.read()
        return json.loads(raw) if raw else None

    def requests(self) -> dict:
        """The API requests logged since the last call, counted (and the log emptied)."""
        log = self.control("GET", "/requests")["requests"]
        self.control("DELETE", "/requests")
        return {"requests": len(log), "writes": sum(r["method"] not in ("GET", "HEAD") for r in log),
                "errors": sum((r["status"] or 599) >= 400 for r in log)}

    def cpu(self) -> float:
        """CPU seconds the sandbox process has used so far (user + system)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_mb(self) -> float:
        """The sandbox process's peak RSS so far, in MB (it holds the whole audience; not part of the sync's)."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")) / 1024

    def stop(self) -> None:
        """SIGTERM, then wait (a minute at most: a sandbox of many audiences takes a while)."""
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()


# Runs the command as its grandchild and reports its rusage: Linux carries a process's peak RSS across exec, so a
# child started straight from this (large) process would report this process's peak as its own. rusage gives the
# peak of the largest process only; a large export is read with a worker process beside the main one, so the
# launcher also samples the RSS of the whole process tree every 20 ms (unless told "0": then it runs no thread beside
# the command) and reports the larger of the two peaks.
_LAUNCHER = """import json, os, subprocess, sys, threading, time
def tree_mb(pid):
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as children:
                    todo += map(int, children.read().split())
        except (OSError, StopIteration):
            pass
    return total / 1024
start = time.perf_counter()
pid, done, tree = subprocess.Popen(sys.argv[3:]).pid, threading.Event(), [0.0]
def sample():
    while not done.wait(0.02):
        tree[0] = max(tree[0], tree_mb(pid))
if sys.argv[2] == "1":
    threading.Thread(target=sample, daemon=True).start()
_, status, usage = os.wait4(pid, 0)
done.set()
with open(sys.argv[1], "w") as out:
    json.dump([time.perf_counter() - start, usage.ru_utime + usage.ru_stime, max(usage.ru_maxrss / 1024, tree[0])], out)
sys.exit(os.waitstatus_to_exitcode(status))"""


def timed_child(args: list[str], env: dict | None = None, tree: bool = True) -> tuple[float, float, float, str, int]:
    """Run a command; return (wall seconds, CPU seconds of it and its children, peak RSS in MB of its process tree,
    stdout, exit code). ``tree=False``: the peak of its largest process only, and no sampling beside it."""
    with tempfile.TemporaryDirectory() as tmp:
        usage, out, err = Path(tmp, "usage"), Path(tmp, "out"), Path(tmp, "err")
        with out.open("w") as stdout, err.open("w") as stderr:
            code = subprocess.run([sys.executable, "-c", _LAUNCHER, str(usage), str(int(tree)), *args],
                                  stdout=stdout, stderr=stderr, env=env).returncode
        if code:
            sys.stderr.write(err.read_text())
        seconds, cpu, peak = json.loads(usage.read_text())
        return seconds, cpu, peak, out.read_text(), code


class Opus1:
    """`opus1-int` with its own OPUS1_INT_HOME, configured against the sandbox."""

    def __init__(self, home: Path, sandbox: SandboxProcess, contacts: Path, cli: list[str] = CLI):
        self.sandbox = sandbox
        self.cli = cli
        self.env = {**os.environ, "OPUS1_INT_HOME": str(home), "OPUS1_INT_LOAD_PLUGINS": "mailchimp"}
        info = sandbox.info
        *_, code = timed_child(cli + ["configure", "mailchimp", "--user-id", info["username"], "--api-key",
                                      info["api_key"], "--audience-id", info["audience_id"], "--api-url",
                                      info["base_url"], "--contacts", str(contacts)], self.env)
        if code:
            raise RuntimeError(f"configure failed (exit {code})")

    def sync(self, contacts: Path) -> dict:
        """One `opus1-int sync mailchimp --json`: its summary, wall and CPU seconds, peak RSS, the sandbox's CPU
        seconds and the requests the sandbox saw."""
        self.sandbox.requests()
        before = self.sandbox.cpu()
        seconds, cpu, peak, out, code = timed_child(
            self.cli + ["sync", "mailchimp", "--contacts", str(contacts), "--json"], self.env)
        if code:
            raise RuntimeError(f"sync failed (exit {code}): {out}")
        summary = json.loads(out)  # the counts at the top level (older installations) or under "counts"
        return {**summary, **summary.get("counts", {}), "seconds": seconds, "cpu_s": cpu, "peak_mb": peak,
                "sandbox_cpu_s": self.sandbox.cpu() - before, "seen": self.sandbox.requests()}


def exports(folder: Path, n: int, keep: int = 0, name: str = "export") -> tuple[Path, Path, list, int, int, int]:
    """The export (accounts for ~n contacts) and a copy with 1% of its contacts renamed.

    Returns both paths, the first ``keep`` contacts (for the naive runs), the number of contacts, the number renamed
    and the number of people. Contacts are streamed, so a large export costs this process little memory.
    """
    from opus1_integrations.contacts import load_audience

    base, changed = folder / f"{name}.jsonl", folder / f"{name}-1pct.jsonl"
    generate(base, math.ceil(n / CONTACTS_PER_ACCOUNT), seed=1)
    kept, renamed, count = [], set(), 0
    with load_audience(base) as audience:
        for count, contact in enumerate(audience.contacts(), 1):
            if count <= keep:
                kept.append(contact)
            if count % 100 == 1:  # every 100th contact, the first included
                renamed.update(contact.person_ids)
        people = audience.counts["people"]
    picked = (count + 99) // 100
    with base.open(encoding="utf-8") as src, changed.open("w", encoding="utf-8") as dst:
        for line in src:
            account = json.loads(line)
            for person in [account["account_manager"], *account["students"]]:
                if person["person_id"] in renamed:
                    person["last_name"] += "-Novak"
            dst.write(json.dumps(account, ensure_ascii=False) + "\n")
    return base, changed, kept, count, picked, people


def naive(sandbox: SandboxProcess, contacts: list, threads: int) -> dict:
    """One `set_list_member` PUT per contact through the official SDK, as Mailchimp's guides show it."""
    import mailchimp_marketing

    info, local = sandbox.info, threading.local()

    def put(contact) -> float:
        if not hasattr(local, "client"):
            local.client = mailchimp_marketing.Client()
            local.client.set_config({"api_key": info["api_key"], "server": "us1"})
            local.client.api_client.host = info["base_url"]
        fields = {"FNAME": contact.first_name, "LNAME": contact.last_name}
        if contact.phone:
            fields["PHONE"] = contact.phone
        local.client.lists.set_list_member(
            info["audience_id"], hashlib.md5(contact.key.encode()).hexdigest(),
            {"email_address": contact.email, "status_if_new": "subscribed", "merge_fields": fields, "tags": ["opus1"]})
        return time.perf_counter()

    sandbox.control("POST", "/reset")
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        done = sorted(pool.map(put, contacts))
    seconds = done[-1] - start
    half = len(done) // 2
    first, second = done[half - 1] - start, done[-1] - done[half - 1]  # time for each half of the members
    return {"members": len(contacts), "threads": threads, "seconds": seconds, **sandbox.requests(),
            "ms_per_member": 1000 * seconds / len(contacts), "halves_ratio": second / first}


def lower_bound(n: int, latency_ms: float, per_member_ms: float) -> dict:
    """The latency model's floor for a full sync: one read of the empty audience, then the batch subscribes
    (500 members a call), 10 at a time, each round as long as latency + its largest call x per-member time."""
    sizes = [min(BATCH, n - i) for i in range(0, n, BATCH)]
    rounds = [sizes[i:i + CONNECTIONS] for i in range(0, len(sizes), CONNECTIONS)]
    ms = latency_ms + sum(latency_ms + max(r) * per_member_ms for r in rounds)
    return {"calls": len(sizes) + 1, "rounds": len(rounds) + 1, "seconds": ms / 1000}


def read_floor(n: int, latency_ms: float) -> float:
    """The model's floor for reading an audience of n members: pages of 1,000, 10 at a time (first page alone)."""
    return latency_ms * (1 + math.ceil(max(0, math.ceil(n / PAGE) - 1) / CONNECTIONS)) / 1000


def rules_child(path: str) -> None:
    """In a subprocess of its own: load an export with the rules, iterate its contacts, print the figures."""
    from opus1_integrations.contacts import load_audience

    start = time.perf_counter()
    with load_audience(path) as audience:
        contacts = sum(1 for _ in audience.contacts())
        accounts = audience.counts["accounts"]
    print(json.dumps({"accounts": accounts, "contacts": contacts, "seconds": time.perf_counter() - start}))


def rules_only(path: Path) -> dict:
    """The rules and readers alone on an export, in a subprocess: accounts per second and peak RSS."""
    wall, _, peak, out, code = timed_child([sys.executable, __file__, "--rules-child", str(path)])
    if code:
        raise RuntimeError("the rules run failed")
    figures = json.loads(out)
    return {**figures, "export_mb": path.stat().st_size / 2**20, "wall": wall, "peak_mb": peak,
            "accounts_per_second": figures["accounts"] / figures["seconds"]}


def full_sync(args: argparse.Namespace, home: Path, sandbox: SandboxProcess, base: Path, what: str, progress: str,
              say, runs: list, baseline_runs: list) -> tuple[Opus1 | None, Opus1]:
    """With --baseline, the other installation first: reset the sandbox, configure it in ``<home>-baseline``, one full
    sync of ``base`` (its figures appended to ``baseline_runs``); then ours the same in ``home`` (to ``runs``).
    Returns the two installations (theirs None without --baseline), configured for the follow-up syncs."""
    theirs = None
    if args.baseline:
        say(f"{what}, baseline ({progress})")
        sandbox.control("POST", "/reset")
        theirs = Opus1(home.with_name(f"{home.name}-baseline"), sandbox, base, [args.baseline])
        baseline_runs.append(theirs.sync(base))
    say(f"{what} ({progress})")
    sandbox.control("POST", "/reset")
    opus1 = Opus1(home, sandbox, base)
    runs.append(opus1.sync(base))
    return theirs, opus1


def changed_sync(theirs: Opus1 | None, opus1: Opus1, base: Path, changed: Path, back: bool, what: str,
                 progress: str, say, runs: list, baseline_runs: list) -> None:
    """After ``full_sync``: with a baseline, it syncs ``changed`` (to ``baseline_runs``) and ours syncs ``base`` back
    (to ``runs``); without one, ours syncs ``changed``, or ``base`` if ``back``."""
    if theirs:
        say(f"{what}, baseline ({progress})")
        baseline_runs.append(theirs.sync(changed))
    say(f"{what} ({progress})")
    runs.append(opus1.sync(base if theirs or back else changed))


def measure(args: argparse.Namespace, folder: Path, say) -> dict:
    """Run every measurement; returns the raw figures."""
    say(f"generating the export for {args.accounts:,} contacts")
    base, changed, contacts, n, renamed, people = exports(folder, args.accounts, keep=4 * args.naive_n)
    sandbox = SandboxProcess(args.latency_ms, args.per_member_ms, folder / "sandbox.log")
    sequential = threaded = large = None
    try:
        if args.naive_n:
            say(f"naive: {args.naive_n:,} sequential PUTs")
            sequential = naive(sandbox, contacts[:args.naive_n], 1)
            say(f"naive: {4 * args.naive_n:,} PUTs on 10 threads")
            threaded = naive(sandbox, contacts[:4 * args.naive_n], CONNECTIONS)
        full, unchanged, one_pct, baseline = [], [], [], {"full": [], "one_pct": []}
        for i in range(args.repeat):
            theirs, opus1 = full_sync(args, folder / f"home{i}", sandbox, base, f"full sync of {n:,} contacts",
                                      f"{i + 1}/{args.repeat}", say, full, baseline["full"])
        for i in range(args.repeat):
            say(f"no-change re-sync ({i + 1}/{args.repeat})")
            unchanged.append(opus1.sync(base))
        for i in range(args.repeat):  # alternate, so each run changes the same 1% again
            changed_sync(theirs, opus1, base, changed, i % 2, "1% changed", f"{i + 1}/{args.repeat}", say, one_pct,
                         baseline["one_pct"])
        if args.large:
            large = large_runs(args, folder, sandbox, say)
    finally:
        sandbox.stop()
    load = rules = None
    if args.rules_accounts:
        say("loading the export alone")
        load = rules_only(base)
        say(f"rules and readers alone on {args.rules_accounts:,} accounts")
        generate(folder / "rules.jsonl", args.rules_accounts, seed=2)
        rules = rules_only(folder / "rules.jsonl")
    return {"contacts": n, "people": people, "renamed": renamed, "sequential": sequential, "threaded": threaded,
            "full": full, "unchanged": unchanged, "one_pct": one_pct, "load": load, "rules": rules, "large": large,
            "baseline": baseline if args.baseline else None,
            "lower_bound": lower_bound(n, args.latency_ms, args.per_member_ms),
            "read_floor": read_floor(n, args.latency_ms)}


def large_runs(args: argparse.Namespace, folder: Path, sandbox: SandboxProcess, say) -> dict:
    """A full sync and a full compare (1% changed: every member is read and compared) of ``--large`` contacts,
    ``--large-repeat`` times each; the sandbox is reset before each full sync."""
    say(f"generating the export for {args.large:,} contacts")
    base, changed, _, n, renamed, people = exports(folder, args.large, name="large")
    full, compare, baseline = [], [], {"full": [], "compare": []}
    for i in range(args.large_repeat):  # with --baseline, both compare every member: it renames 1%, ours back
        progress = f"{i + 1}/{args.large_repeat}"
        theirs, opus1 = full_sync(args, folder / f"large{i}", sandbox, base, f"full sync of {n:,} contacts",
                                  progress, say, full, baseline["full"])
        changed_sync(theirs, opus1, base, changed, False, f"full compare of {n:,} contacts, 1% changed", progress,
                     say, compare, baseline["compare"])
    for path in (base, changed):
        path.unlink()
    return {"contacts": n, "people": people, "renamed": renamed, "full": full, "compare": compare,
            "baseline": baseline if args.baseline else None, "sandbox_peak_mb": sandbox.peak_mb()}


def summarise(m: dict, args: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    """The table rows and the targets with PASS/MISS."""
    n, lb, rules = m["contacts"], m["lower_bound"], m["rules"]
    full_s = median(m["full"], "seconds")
    rows = []

    def sync_row(name: str, runs: list[dict], note: str, size: int = n, ratio: float | None = None) -> None:
        rows.append({"measure": name, "size": f"{size:,}", "wall_s": median(runs, "seconds"),
                     "cpu": f"{median(runs, 'cpu_s'):.1f} / {median(runs, 'sandbox_cpu_s'):.1f}",
                     "requests": max(r["requests"] for r in runs), "writes": max(r["writes"] for r in runs),
                     "peak_mb": median(runs, "peak_mb"), "ratio": ratio, "note": note})

    compared = []  # (row name, our runs, the baseline's runs)

    def baseline_row(name: str, ours: list[dict], theirs: list[dict] | None, size: int = n) -> None:
        if not theirs:
            return
        compared.append((name, ours, theirs))
        sync_row(f"{name}, baseline", theirs, f"the --baseline installation, interleaved with ours; ratio = our "
                 f"wall / its wall; peak ours / its: {median(ours, 'peak_mb') / median(theirs, 'peak_mb'):.2f}",
                 size, median(ours, "seconds") / median(theirs, "seconds"))

    base = m["baseline"] or {}
    f0, load = m["full"][0], m["load"]
    loading = f", loading it alone takes {load['seconds']:.1f} s" if load else ""
    sync_row("1 full sync", m["full"], f"empty audience; export of {m['people']:,} people{loading}; "
                                       f"created {f0['created']:,}, failed {f0['failed']}; the sandbox saw "
                                       f"{f0['seen']['requests']} requests; {per_1000(m['full'], n):.3f} s per 1,000")
    baseline_row("1 full sync", m["full"], base.get("full"))
    for key, name in (("sequential", "2a naive, sequential"), ("threaded", "2b naive, 10 threads")):
        r = m[key]
        if r is None:
            continue
        linear = 0.8 < r["halves_ratio"] < 1.25  # the second half of the PUTs took as long as the first
        r["extrapolated_s"] = r["ms_per_member"] * n / 1000 if linear else None
        rows.append({"measure": name, "size": f"{r['members']:,}", "wall_s": r["seconds"], "cpu": None,
                     "requests": r["requests"],
                     "writes": r["writes"], "peak_mb": None,
                     "ratio": r["extrapolated_s"] / full_s if linear else None,
                     "note": (f"{r['ms_per_member']:.1f} ms per member; linear (halves {r['halves_ratio']:.2f}), "
                              f"so at {n:,}: {r['extrapolated_s']:,.0f} s; ratio = that / ours" if linear else
                              f"not linear (halves {r['halves_ratio']:.2f}): not extrapolated")})
    u0, p0 = m["unchanged"][0], m["one_pct"][0]
    sync_row("3 no-change re-sync", m["unchanged"], f"unchanged {u0['unchanged']:,}; the model's read floor "
                                                   f"{m['read_floor']:.2f} s")
    sync_row("4 1% changed", m["one_pct"], f"{m['renamed']:,} contacts renamed: updated {p0['updated']:,}, "
                                           f"failed {p0['failed']}; {per_1000(m['one_pct'], n):.3f} s per 1,000")
    baseline_row("4 1% changed", m["one_pct"], base.get("one_pct"))
    rows.append({"measure": "5 lower bound", "size": f"{n:,}", "wall_s": lb["seconds"], "cpu": None,
                 "requests": lb["calls"],
                 "writes": lb["calls"] - 1, "peak_mb": None, "ratio": full_s / lb["seconds"],
                 "note": f"{lb['rounds']} rounds of <= 10 calls at {args.latency_ms:g} ms + "
                         f"{args.per_member_ms:g} ms per member; ratio = ours / bound"})
    if rules:
        rows.append({"measure": "6 rules + readers", "size": f"{rules['accounts']:,} accounts",
                     "wall_s": rules["wall"], "cpu": None, "requests": None, "writes": None,
                     "peak_mb": rules["peak_mb"], "ratio": None,
                     "note": f"{rules['accounts_per_second']:,.0f} accounts/s ({rules['export_mb']:.0f} MB export -> "
                             f"{rules['contacts']:,} contacts in {rules['seconds']:.1f} s)"})
    large = m["large"]
    if large:
        big = large["contacts"]
        lf, lc = large["full"][0], large["compare"][0]
        sync_row("7 full sync, large", large["full"], f"created {lf['created']:,}, failed {lf['failed']}; "
                 f"{per_1000(large['full'], big):.3f} s per 1,000; ratio = s per 1,000 / row 1's",
                 big, per_1000(large["full"], big) / per_1000(m["full"], n))
        baseline_row("7 full sync, large", large["full"], (large["baseline"] or {}).get("full"), big)
        sync_row("8 full compare, large", large["compare"], f"1% changed: {large['renamed']:,} renamed, updated "
                 f"{lc['updated']:,}, unchanged {lc['unchanged']:,}, failed {lc['failed']}; "
                 f"{per_1000(large['compare'], big):.3f} s per 1,000; ratio = s per 1,000 / row 4's; the sandbox "
                 f"(its own process, not measured here) peaked at {large['sandbox_peak_mb']:,.0f} MB",
                 big, per_1000(large["compare"], big) / per_1000(m["one_pct"], n))
        baseline_row("8 full compare, large", large["compare"], (large["baseline"] or {}).get("compare"), big)
    unchanged_s, unchanged_w = median(m["unchanged"], "seconds"), max(r["writes"] for r in m["unchanged"])
    targets = [
        {"target": "full sync within 1.5x of the lower bound", "figure": f"{full_s / lb['seconds']:.2f}x",
         "pass": full_s <= 1.5 * lb["seconds"]},
        {"target": "no-change re-sync: 0 writes and < 5 s", "figure": f"{unchanged_w} writes, {unchanged_s:.1f} s",
         "pass": unchanged_w == 0 and unchanged_s < 5},
    ]
    if m["sequential"]:
        seq = m["sequential"]["extrapolated_s"]
        targets.insert(1, {"target": ">= 50x faster than the sequential naive approach",
                           "figure": f"{seq / full_s:.0f}x" if seq else "not extrapolated",
                           "pass": bool(seq) and seq >= 50 * full_s})
    if rules:
        targets.append({"target": "peak memory < 300 MB on the 1,000,000-account export",
                        "figure": f"{rules['peak_mb']:.0f} MB at {rules['accounts']:,}", "pass": rules["peak_mb"] < 300})
    if large:
        peak = max(r["peak_mb"] for r in large["full"] + large["compare"])
        targets.append({"target": f"peak RSS <= 300 MB, full sync and full compare of {large['contacts']:,}",
                        "figure": f"{peak:.0f} MB (largest run)", "pass": peak <= 300})
        worst = max(per_1000(large["full"], large["contacts"]) / per_1000(m["full"], n),
                    per_1000(large["compare"], large["contacts"]) / per_1000(m["one_pct"], n))
        targets.append({"target": f"wall time per contact at {large['contacts']:,} no worse than at {n:,} "
                                  "(+10% for noise)", "figure": f"{worst:.2f}x", "pass": worst <= 1.1})
    for name, ours, theirs in compared:
        ratio = median(ours, "seconds") / median(theirs, "seconds")
        targets.append({"target": f"{name}: wall time no worse than the baseline's (+10% for noise)",
                        "figure": f"{ratio:.2f}x", "pass": ratio <= 1.1})
    return rows, targets


def per_1000(runs: list[dict], contacts: int) -> float:
    """Median wall seconds per 1,000 contacts."""
    return median(runs, "seconds") * 1000 / contacts


def median(runs: list[dict], key: str) -> float:
    """The median of one figure over repeated runs."""
    return statistics.median(r[key] for r in runs)


def show(rows: list[dict], targets: list[dict], args: argparse.Namespace) -> None:
    """Print the figures and the targets as one rich table."""
    from rich.console import Console
    from rich.table import Table

    def fmt(value, spec: str) -> str:
        return "" if value is None else format(value, spec)

    table = Table("measure", "size", "wall s", "CPU s sync / sandbox", "requests", "writes", "peak MB", "ratio",
                  "note",
                  title=f"Mailchimp sync: {args.latency_ms:g} ms per request + {args.per_member_ms:g} ms per batch "
                        f"member; syncs: median of {args.repeat}")
    for r in rows:
        table.add_row(r["measure"], r["size"], fmt(r["wall_s"], ",.1f"), r["cpu"] or "", fmt(r["requests"], ","),
                      fmt(r["writes"], ","), fmt(r["peak_mb"], ".0f"), fmt(r["ratio"], ",.2f"), r["note"])
    table.add_section()
    for t in targets:
        verdict = "[green]PASS[/]" if t["pass"] else "[red]MISS[/]"
        table.add_row(verdict, "", "", "", "", "", "", t["figure"], t["target"])
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000, help="account managers (contacts) to sync")
    parser.add_argument("--naive-n", type=int, default=500,
                        help="sequential naive PUTs (10 threads: 4x as many; 0: not run)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="latency of every request")
    parser.add_argument("--per-member-ms", type=float, default=0.5, help="extra per batch member")
    parser.add_argument("--rules-accounts", type=int, default=1_000_000, help="accounts of the rules-only export (0: not run)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each sync (medians are quoted)")
    parser.add_argument("--large", type=int, default=0,
                        help="also a full sync and a full compare (1%% changed) of this many contacts (0: not run)")
    parser.add_argument("--large-repeat", type=int, default=1, help="runs of each large sync")
    parser.add_argument("--baseline", help="another installation's opus1-int (e.g. a checkout of main): its full "
                                           "syncs and 1%% runs are measured too, interleaved with ours")
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each: a smoke test")
    parser.add_argument("--rules-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rules_child:
        return rules_child(args.rules_child)
    if args.quick:
        args.accounts, args.naive_n, args.rules_accounts, args.repeat = 5_000, 100, 50_000, 1
        args.large = args.large and 20_000

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="opus1-bench-") as tmp:
        measured = measure(args, Path(tmp), say)
    rows, targets = summarise(measured, args)
    show(rows, targets, args)
    out = HERE / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               "settings": {k: v for k, v in vars(args).items() if k != "rules_child"},
                               "rows": rows, "targets": targets, "measured": measured}, indent=2))
    say(f"written to {out}")


if __name__ == "__main__":
    main()
