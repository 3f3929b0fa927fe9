"""Real processes: overlapping ``sync --all`` runs sync each business once, a lock left by a killed process is
recovered, ``schedule run`` runs what is due, sleeps, and stops on SIGTERM without a half-written run, and the worker
processes of a fleet: the two-step stop reaches them, they die with their parent, and one that crashes fails only
its business."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from opus1_integrations import clock, locks, schedule
from opus1_integrations.state import open_db

from .conftest import OPUS1_INT, make_distribution, process_env

# A throwaway integration for real processes. Its sync notes each start in DIR/<business>.started (one line per
# sync, with the pid), holds while DIR/<business>.hold exists, and fails when its settings say so.
MODULE = """
import os
import time
from pathlib import Path

from opus1_integrations.api import SettingsInvalid, hookimpl


@hookimpl
def settings_schema():
    return {"type": "object", "properties": {"fail": {"type": "boolean"}, "crash": {"type": "boolean"}}}


@hookimpl
def configure(context, settings):
    return settings


@hookimpl
def sync(context, settings, audience, run, options):
    folder = Path(os.environ["OPUS1_TEST_DIR"])
    with open(folder / f"{context.business}.started", "a") as f:
        f.write(f"{os.getpid()}\\n")
    hold = folder / f"{context.business}.hold"
    deadline = time.monotonic() + 60
    while hold.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    if settings.get("fail"):
        raise SettingsInvalid("the service rejected the key", hint="make a new key")
    if settings.get("crash"):  # as a plugin's C extension might: the whole process goes
        os.kill(os.getpid(), 9)
    keys = [contact.key for contact in audience.contacts()]
    for key in keys:
        run.record(key, "created")
    return {"created": len(keys)}
"""

DEADLINE = 30


class Lab:
    """The throwaway ``thing`` integration, loaded in this process and installed for child processes."""

    def __init__(self, tmp_path: Path, add_plugin, cli, accounts, monkeypatch):
        self.dir = tmp_path / "lab"
        self.dir.mkdir()
        site = make_distribution(tmp_path / "site", "opus1-thing", {"thing": "opus1_thing_lab"},
                                 {"opus1_thing_lab": MODULE})
        spec = importlib.util.spec_from_file_location(f"opus1_thing_lab_{id(self)}", site / "opus1_thing_lab.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        add_plugin(module, "thing")
        monkeypatch.setenv("OPUS1_TEST_DIR", str(self.dir))
        self.env = process_env([site], OPUS1_INT_LOAD_PLUGINS="thing")
        self.cli = cli
        self.accounts = accounts
        self.procs: list[subprocess.Popen] = []

    def configure(self, *businesses: str, extra=()) -> None:
        for business in businesses:
            result = self.cli("configure", "thing", "--business", business, "--contacts", self.accounts, *extra)
            assert result.code == 0, result.err

    def hold(self, *businesses: str) -> None:
        for business in businesses:
            (self.dir / f"{business}.hold").touch()

    def release(self, *businesses: str) -> None:
        for business in businesses:
            (self.dir / f"{business}.hold").unlink(missing_ok=True)

    def starts(self, business: str) -> list[int]:
        path = self.dir / f"{business}.started"
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    def start(self, *args: str, name: str = "proc") -> subprocess.Popen:
        """Start ``opus1-int`` with stdout and stderr in files (so a test can read them while it runs)."""
        out, err = open(self.dir / f"{name}.out", "w"), open(self.dir / f"{name}.err", "w")
        proc = subprocess.Popen([OPUS1_INT, *args], env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        out.close()
        err.close()
        proc.name = name
        self.procs.append(proc)
        return proc

    def out(self, proc) -> str:
        return (self.dir / f"{proc.name}.out").read_text()

    def err(self, proc) -> str:
        return (self.dir / f"{proc.name}.err").read_text()

    def until(self, condition, what: str, timeout: float = DEADLINE) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            for proc in self.procs:
                if proc.poll() is not None and proc.returncode not in (0, 1, 130, -9):
                    pytest.fail(f"{proc.name} exited {proc.returncode}: {self.err(proc)}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting until {what}; " +
                            "; ".join(f"{p.name}: {self.err(p)[-2000:]}" for p in self.procs))
            time.sleep(0.02)

    def finish(self, proc, timeout: float = DEADLINE) -> int:
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"{proc.name} did not finish: {self.err(proc)}")

    def cleanup(self) -> None:
        for business in self.dir.glob("*.hold"):
            business.unlink()
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def lab(tmp_path, add_plugin, cli, accounts, monkeypatch):
    lab = Lab(tmp_path, add_plugin, cli, accounts, monkeypatch)
    try:
        yield lab
    finally:
        lab.cleanup()


def process_tree(pid: int) -> list[int]:
    """A process and its descendants (its fleet's worker processes)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                todo += map(int, Path(f"/proc/{current}/task/{task}/children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


def holds_a_lock_file(pid: int) -> bool:
    """Whether a process or one of its workers has a business lock file open (it holds or is waiting for a lock)."""
    for member in process_tree(pid):
        try:
            if any(os.readlink(fd).endswith(".lock") for fd in Path(f"/proc/{member}/fd").iterdir()):
                return True
        except (FileNotFoundError, ProcessLookupError):
            pass
    return False


def db_runs(**where) -> list[dict]:
    rows = [dict(r) for r in open_db()["runs"].rows]
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


# -- overlapping sync --all ---------------------------------------------------------------------


@pytest.mark.parametrize("wait", [False, True], ids=["skip", "wait"])
def test_overlapping_sync_all_processes_sync_each_business_exactly_once(lab, wait):
    businesses = ["a", "b", "c", "d", "e"]
    lab.configure(*businesses)
    lab.hold(*businesses)
    args = ["sync", "thing", "--all", "--json", "--jobs", "3"] + (["--wait"] if wait else [])
    first, second = lab.start(*args, name="first"), lab.start(*args, name="second")
    # Both processes are at work: each has a lock file open (holding or waiting) or has already finished.
    lab.until(lambda: all(p.poll() is not None or holds_a_lock_file(p.pid) for p in (first, second))
              and sum(bool(lab.starts(b)) for b in businesses) >= 3, "both processes overlap")
    lab.release(*businesses)
    assert lab.finish(first) == 0, lab.err(first)
    assert lab.finish(second) == 0, lab.err(second)

    assert {b: len(lab.starts(b)) for b in businesses} == dict.fromkeys(businesses, 1)
    assert sorted(r["business"] for r in db_runs()) == businesses
    assert {r["status"] for r in db_runs()} == {"ok"}
    outcomes = [o for p in (first, second) for o in json.loads(lab.out(p))]
    synced = sorted(o["business"] for o in outcomes if o["outcome"] == "ok")
    assert synced == businesses
    skipped = {o["outcome"] for o in outcomes if o["outcome"] != "ok"}
    assert skipped <= ({"skipped_not_due"} if wait else {"skipped_locked", "skipped_not_due"})


# -- stale locks ---------------------------------------------------------------------------------


def test_a_lock_held_by_a_killed_process_is_recovered_by_the_next_run(lab, cli):
    lab.configure("a", "b")
    lab.hold("a")
    killed = lab.start("sync", "thing", "--business", "a", name="killed")
    lab.until(lambda: lab.starts("a"), "the sync of a started")
    [running] = cli("runs", "--json").json()
    assert running["status"] == "running"
    killed.send_signal(signal.SIGKILL)
    assert lab.finish(killed) == -signal.SIGKILL
    lab.release("a")
    assert locks.lock_path("a", "thing").exists()  # the file stays; the kernel dropped the lock

    result = cli("sync", "thing", "--all", "--json")
    assert result.code == 0, result.err
    assert {o["business"]: o["outcome"] for o in result.json()} == {"a": "ok", "b": "ok"}
    old = open_db()["runs"].get(running["id"])
    assert (old["status"], old["error"]) == ("interrupted", "the process stopped before the run finished")
    assert [r["status"] for r in cli("runs", "--business", "a", "--json").json()] == ["ok", "interrupted"]


def test_a_waiting_process_takes_over_when_the_holder_is_killed(lab):
    lab.configure("a")
    lab.hold("a")
    holder = lab.start("sync", "thing", "--business", "a", name="holder")
    lab.until(lambda: lab.starts("a"), "the holder's sync started")
    waiter = lab.start("sync", "thing", "--all", "--wait", "--json", name="waiter")
    lab.until(lambda: holds_a_lock_file(waiter.pid), "the waiter waits for the lock")
    holder.send_signal(signal.SIGKILL)
    lab.finish(holder)
    lab.release("a")
    assert lab.finish(waiter) == 0, lab.err(waiter)
    [outcome] = json.loads(lab.out(waiter))
    assert outcome["outcome"] == "ok"  # the killed run never finished: still due
    assert len(lab.starts("a")) == 2
    assert sorted(r["status"] for r in db_runs(business="a")) == ["interrupted", "ok"]


# -- schedule run --------------------------------------------------------------------------------


def test_schedule_run_syncs_what_is_due_sleeps_and_notices_new_businesses(lab):
    lab.configure("a", extra=("--every", "0.0004"))  # 1.44 seconds
    lab.configure("broken", extra=("--fail",))
    began = time.monotonic()
    proc = lab.start("schedule", "run", "--max-sleep", "0.3", "--retry-after", "60", name="schedule")
    lab.until(lambda: len(lab.starts("a")) >= 2, "a is synced again once due")
    lab.configure("late")  # configured while it runs
    lab.until(lambda: lab.starts("late"), "the new business is noticed")
    proc.send_signal(signal.SIGTERM)
    elapsed = time.monotonic() - began
    assert lab.finish(proc) == 0, lab.err(proc)

    # It sleeps until a is due again (1.44 s after its last sync ended, which is stored to the second): no busy loop.
    assert len(lab.starts("a")) <= 2 + elapsed / 0.4
    assert len(lab.starts("broken")) == 1  # a failure is retried after --retry-after, not at once
    assert len(lab.starts("late")) == 1
    log = lab.err(proc)
    assert "thing a: ok run" in log and "next due" in log
    assert "thing broken: failed run" in log and "the service rejected the key" in log
    assert "schedule: stopped" in log
    assert db_runs(status="running") == []


def test_sigterm_stops_schedule_run_after_the_running_sync_finishes(lab, cli):
    lab.configure("a", "b")
    lab.hold("a")
    proc = lab.start("schedule", "run", "--jobs", "1", "--max-sleep", "0.2", name="schedule")
    lab.until(lambda: lab.starts("a"), "the sync of a started")
    proc.send_signal(signal.SIGTERM)
    lab.until(lambda: "stopping" in lab.err(proc), "it says it is stopping")
    assert proc.poll() is None  # the running sync is not cut short
    lab.release("a")
    assert lab.finish(proc) == 0, lab.err(proc)

    assert lab.starts("b") == []  # nothing new started after the signal
    [run] = db_runs()
    assert (run["business"], run["status"]) == ("a", "ok")
    assert "thing a: ok run" in lab.err(proc) and "schedule: stopped" in lab.err(proc)
    assert cli("sync", "thing", "--all", "--json").json()[1]["outcome"] == "ok"  # b is still due


def test_a_second_sigterm_interrupts_the_running_sync_and_the_next_run_resumes_it(lab, cli):
    lab.configure("a")
    lab.hold("a")
    proc = lab.start("schedule", "run", "--max-sleep", "0.2", name="schedule")
    lab.until(lambda: lab.starts("a"), "the sync of a started")
    proc.send_signal(signal.SIGTERM)
    lab.until(lambda: "stopping" in lab.err(proc), "it says it is stopping")
    proc.send_signal(signal.SIGTERM)
    assert lab.finish(proc) == 130, lab.err(proc)

    [run] = db_runs()
    assert run["status"] == "interrupted" and run["finished_at"] is not None  # marked, not left running
    assert f"run {run['id']} marked interrupted" in lab.err(proc)
    lab.release("a")
    result = cli("sync", "thing", "--all", "--json")
    assert result.json()[0]["outcome"] == "ok"
    assert [r["status"] for r in cli("runs", "--json").json()] == ["ok", "interrupted"]


def test_sigterm_during_sync_all_finishes_the_running_syncs_and_exits_130(lab, cli):
    lab.configure("a", "b", "c")
    lab.hold("a")
    proc = lab.start("sync", "thing", "--all", "--jobs", "1", "--json", name="all")
    lab.until(lambda: lab.starts("a"), "the sync of a started")
    proc.send_signal(signal.SIGTERM)
    lab.until(lambda: "stopping" in lab.err(proc), "it says it is stopping")
    lab.release("a")
    assert lab.finish(proc) == 130, lab.err(proc)
    outcomes = {o["business"]: o for o in json.loads(lab.out(proc))}
    assert outcomes["a"]["outcome"] == "ok"
    assert outcomes["b"]["outcome"] == outcomes["c"]["outcome"] == "interrupted"
    assert outcomes["b"]["error"] == "not started: stopping"
    assert [r["business"] for r in db_runs()] == ["a"]
    assert schedule.status(open_db(), "b", "thing", clock.utcnow()).due


# -- worker processes ----------------------------------------------------------------------------------------------


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_a_second_signal_kills_the_workers_and_marks_their_runs_interrupted(lab, cli):
    lab.configure("a", "b", "c")
    lab.hold("a", "b", "c")
    proc = lab.start("sync", "thing", "--all", "--processes", "2", "--jobs", "4", "--json", name="all")
    lab.until(lambda: all(lab.starts(b) for b in "abc"), "the three syncs started")
    workers = {pid for b in "abc" for pid in lab.starts(b)}
    assert len(workers) == 2 and proc.pid not in workers  # in the worker processes, not in opus1-int itself
    proc.send_signal(signal.SIGTERM)
    lab.until(lambda: "stopping" in lab.err(proc), "it says it is stopping")
    proc.send_signal(signal.SIGTERM)
    assert lab.finish(proc) == 130, lab.err(proc)

    runs = db_runs()
    assert {r["status"] for r in runs} == {"interrupted"} and all(r["finished_at"] for r in runs)
    assert {r["pid"] for r in runs} == workers
    assert f"run {', '.join(str(r['id']) for r in sorted(runs, key=lambda r: r['id']))} marked interrupted" in \
        lab.err(proc)
    assert not any(alive(pid) for pid in workers)
    lab.release("a", "b", "c")
    assert [o["outcome"] for o in cli("sync", "thing", "--all", "--json").json()] == ["ok"] * 3  # resumed


def test_the_first_signal_lets_the_workers_finish_their_syncs_and_starts_no_new_one(lab):
    lab.configure("a", "b", "c", "d")
    lab.hold("a", "b")
    proc = subprocess.Popen([OPUS1_INT, "sync", "thing", "--all", "--processes", "2", "--jobs", "2", "--json"],
                            env=lab.env, stdin=subprocess.DEVNULL, stdout=open(lab.dir / "all.out", "w"),
                            stderr=open(lab.dir / "all.err", "w"), start_new_session=True)
    proc.name = "all"
    lab.procs.append(proc)
    lab.until(lambda: lab.starts("a") and lab.starts("b"), "a and b started")
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole process group, workers included
    lab.until(lambda: "stopping" in lab.err(proc), "it says it is stopping")
    time.sleep(0.3)
    assert proc.poll() is None  # the workers ignored it; the running syncs go on
    lab.release("a", "b")
    assert lab.finish(proc) == 130, lab.err(proc)
    outcomes = {o["business"]: o["outcome"] for o in json.loads(lab.out(proc))}
    assert outcomes == {"a": "ok", "b": "ok", "c": "interrupted", "d": "interrupted"}
    assert lab.starts("c") == lab.starts("d") == []
    assert sorted(r["business"] for r in db_runs(status="ok")) == ["a", "b"]


def test_the_workers_die_with_their_parent(lab, cli):
    lab.configure("a", "b")
    lab.hold("a", "b")
    proc = lab.start("schedule", "run", "--processes", "2", "--max-sleep", "0.2", name="schedule")
    lab.until(lambda: lab.starts("a") and lab.starts("b"), "both syncs started")
    workers = set(lab.starts("a") + lab.starts("b"))
    proc.send_signal(signal.SIGKILL)
    lab.finish(proc)
    lab.until(lambda: not any(alive(pid) for pid in workers), "the workers are gone", timeout=10)
    assert [r["status"] for r in cli("runs", "--json").json()] == ["interrupted", "interrupted"]  # locks free


def test_a_worker_that_crashes_fails_only_its_business(lab, cli):
    lab.configure("a", "c", "d")
    lab.configure("b", extra=("--crash",))
    result = cli("sync", "thing", "--all", "--processes", "2", "--jobs", "2", "--json")
    assert result.code == 1, result.err
    outcomes = {o["business"]: o for o in result.json()}
    assert {b: o["outcome"] for b, o in outcomes.items()} == {"a": "ok", "b": "failed", "c": "ok", "d": "ok"}
    crashed = outcomes["b"]
    assert "died (killed by SIGKILL) while syncing it" in crashed["error"] and crashed["exit_code"] == 1
    [run] = db_runs(business="b")
    assert (run["id"], run["status"]) == (crashed["run_id"], "interrupted")
