"""Benchmark the run log (issue 13): filters on a log of a million runs, and the database's size over simulated days.

    python bench/run_log.py [--runs 1000000] [--studios 500] [--days 60] [--contacts 200] [--repeat 5] [--quick]

1. Filters: a log of ``--runs`` runs of 2,000 studios (inserted directly, in bulk) of a healthy fleet: 1% partial,
   0.1% interrupted, a few running, and only 10 failed, so that ``runs --status failed`` finds fewer than its 20 rows
   and must rule out every other run. Then that and the other filters through the run log's own query
   (``runlog.list_runs``), against the old way measured in the same run (every row read newest first and filtered in
   Python), and the whole `opus1-int runs --status failed --json` command.
2. Growth: ``--studios`` studios syncing once a day for ``--days`` days, each run recording ``--contacts`` items
   through the run log's own code (``runlog.running`` with a clock on the simulated day, ``Run.record``), 1% of them
   failed with a message, and the automatic pruning the fleet runs after its syncs (``retention.prune_if_due``,
   at most once a simulated hour) with the default retention. The database's size is taken at the end of each day.

Writes the figures to bench/results/run_log.json; bench/README.md explains them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLI = str(Path(sys.executable).with_name("opus1-int"))
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
OUTCOMES = ["unchanged"] * 95 + ["updated"] * 3 + ["created"]  # and 1% failed


def say(message: str) -> None:
    """A progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fill(db, runs: int, studios: int = 2000) -> dict:
    """``runs`` runs of ``studios`` studios, a day apart per studio, in bulk; returns how many of each status."""
    from opus1_integrations.clock import iso

    rng = random.Random(1)
    statuses = {"ok": 0, "failed": 0, "partial": 0, "interrupted": 0, "running": 0}
    batch = []

    def flush() -> None:
        with db.atomic():
            db.conn.executemany(
                "insert into runs (business, integration, started_at, finished_at, status, dry_run, counts, error, pid) "
                "values (?, 'mailchimp', ?, ?, ?, 0, ?, ?, 0)", batch)
        batch.clear()

    failed_every = max(1, runs // 10)
    for i in range(runs):
        roll = rng.random()
        status = ("running" if i > runs - 5 else "failed" if i % failed_every == failed_every // 2
                  else "partial" if roll < 0.01 else "interrupted" if roll < 0.011 else "ok")
        statuses[status] += 1
        started = START + timedelta(days=i // studios, seconds=(i % studios) * 86400 / studios)
        batch.append((f"studio-{i % studios:05d}", iso(started),
                      None if status == "running" else iso(started + timedelta(seconds=3)), status,
                      '{"created": 0, "updated": 2, "unchanged": 198, "failed": 0, "requests": 3, "writes": 1}',
                      "Mailchimp rejected the API key (401)" if status == "failed" else None))
        if len(batch) >= 50_000:
            flush()
    flush()
    return statuses


def old_filter(db, status: str, limit: int = 20) -> list[dict]:
    """The run log's query before this change: every row newest first, the status filtered in Python."""
    from opus1_integrations.locks import lock_is_free

    rows = []
    for row in db["runs"].rows_where(order_by="id desc"):
        row = dict(row)
        row["counts"] = json.loads(row["counts"] or "{}")
        if row["status"] == "running" and lock_is_free(row["business"], row["integration"]):
            row["status"] = "interrupted"
        if row["status"] == status:
            rows.append(row)
        if len(rows) >= limit:
            break
    return rows


def timed(call, repeat: int) -> dict:
    """Median and spread of ``repeat`` calls, in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        times.append(1000 * (time.perf_counter() - start))
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times), "rows": len(result)}


def filters(home: Path, runs: int, repeat: int) -> dict:
    """Part 1: the filters on a log of ``runs`` runs."""
    os.environ["OPUS1_INT_HOME"] = str(home)
    from opus1_integrations import runlog, state
    from opus1_integrations.clock import iso

    db = state.open_db()
    say(f"filling a run log with {runs:,} runs")
    statuses = fill(db, runs)
    last = db.execute("select max(started_at) from runs").fetchone()[0]
    day_before = iso(datetime.fromisoformat(last) - timedelta(days=1))
    week_before = iso(datetime.fromisoformat(last) - timedelta(days=7))
    queries = {
        "--status failed": dict(status="failed"),
        "--status interrupted": dict(status="interrupted"),
        "--status running": dict(status="running"),
        "--business studio-00042": dict(business="studio-00042"),
        "--since 24h (of the last run)": dict(since=day_before),
        "--status failed --since 7d": dict(status="failed", since=week_before),
        "--business studio-00042 --status failed": dict(business="studio-00042", status="failed"),
        "(no filter)": {},
    }
    say("timing the filters")
    figures = {name: timed(lambda kw=kw: runlog.list_runs(db, **kw), repeat) for name, kw in queries.items()}
    say("timing the old way (Python filtering) for --status failed")
    old = timed(lambda: old_filter(db, "failed"), max(1, repeat // 2))
    say("timing the whole command")
    env = {**os.environ, "OPUS1_INT_HOME": str(home), "OPUS1_INT_LOAD_PLUGINS": ""}
    command = timed(lambda: [subprocess.run([CLI, "runs", "--status", "failed", "--json"], env=env, check=True,
                                            capture_output=True)], repeat)
    startup = timed(lambda: [subprocess.run([CLI, "--version"], env=env, check=True, capture_output=True)], repeat)
    size = (home / state.DB_NAME).stat().st_size
    db.conn.close()
    return {"runs": runs, "statuses": statuses, "queries": figures, "old_status_failed": old,
            "command_status_failed": command, "command_version": startup, "db_mb": size / 2**20}


def growth(home: Path, studios: int, days: int, contacts: int) -> dict:
    """Part 2: the database's size, day by day, of a fleet syncing daily with the default retention."""
    os.environ["OPUS1_INT_HOME"] = str(home)
    from opus1_integrations import retention, runlog, state

    db = state.open_db()
    rng = random.Random(2)
    keys = [[f"client.{s:04d}.{k:04d}@studio-mail.example" for k in range(contacts)] for s in range(studios)]
    sizes, pruned_items, spent = [], 0, 0.0
    for day in range(days):
        start = time.perf_counter()
        for s in range(studios):
            at = START + timedelta(days=day, seconds=s * 86400 / studios)
            with runlog.running(db, f"studio-{s:04d}", "mailchimp", False, clock=lambda at=at: at) as run:
                for key in keys[s]:
                    if rng.random() < 0.01:
                        run.record(key, "failed", error_code="invalid_resource",
                                   message="Mailchimp refused it: looks fake or invalid", hint="fix the address")
                    else:
                        run.record(key, rng.choice(OUTCOMES))
                run.counts = {"created": 1, "updated": 6, "unchanged": 191, "failed": 2, "requests": 3, "writes": 1}
            done = retention.prune_if_due(db, now=at + timedelta(seconds=5))
            pruned_items += done.items if done else 0
        spent += time.perf_counter() - start
        wal = home / (state.DB_NAME + "-wal")
        sizes.append({"day": day + 1, "db_mb": (home / state.DB_NAME).stat().st_size / 2**20,
                      "wal_mb": wal.stat().st_size / 2**20 if wal.exists() else 0.0,
                      "items": db.execute("select count(*) from run_items").fetchone()[0],
                      "runs": db.execute("select count(*) from runs").fetchone()[0],
                      "free_pages": db.execute("PRAGMA freelist_count").fetchone()[0]})
        say(f"day {day + 1}: {sizes[-1]['db_mb']:.1f} MB (+ WAL {sizes[-1]['wal_mb']:.1f} MB), "
            f"{sizes[-1]['items']:,} items, {sizes[-1]['runs']:,} runs")
    db.conn.close()
    return {"studios": studios, "days": days, "contacts": contacts, "sizes": sizes, "pruned_items": pruned_items,
            "seconds": spent, "runs_per_second": studios * days / spent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--studios", type=int, default=500)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="100,000 runs, 50 studios for 35 days: a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.studios, args.days, args.repeat = 100_000, 50, 35, 3
    with tempfile.TemporaryDirectory(prefix="opus1-runlog-") as tmp:
        measured = {"filters": filters(Path(tmp) / "filters", args.runs, args.repeat),
                    "growth": growth(Path(tmp) / "growth", args.studios, args.days, args.contacts)}
    f, g = measured["filters"], measured["growth"]
    print(f"run log of {f['runs']:,} runs ({f['db_mb']:.0f} MB):")
    for name, q in f["queries"].items():
        print(f"  runs {name:42} {q['median_ms']:8.1f} ms  ({q['rows']} rows)")
    print(f"  old way, --status failed                    {f['old_status_failed']['median_ms']:8.1f} ms")
    print(f"  whole command, --status failed              {f['command_status_failed']['median_ms']:8.1f} ms "
          f"(opus1-int --version alone: {f['command_version']['median_ms']:.0f} ms)")
    print(f"growth, {g['studios']} studios x {g['contacts']} contacts, daily, default retention:")
    for row in g["sizes"]:
        if row["day"] in (1, 7, 14, 21, 28, 30, 31, 35, 45, 60) or row["day"] == g["days"]:
            print(f"  day {row['day']:3}: {row['db_mb']:7.1f} MB + WAL {row['wal_mb']:5.1f} MB, "
                  f"{row['items']:>10,} items, {row['runs']:>7,} runs")
    out = HERE / "results" / "run_log.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               "settings": vars(args), "load_average": os.getloadavg(), "measured": measured},
                              indent=2))
    say(f"written to {out}")


if __name__ == "__main__":
    main()
