"""CPU per small studio in one process: first syncs, no-change runs and full compares of S studios, one after the
other, through the services layer against one sandbox without latency (the fleet's cost without the fleet).

    python bench/studio_cpu.py [--studios 60] [--contacts 200] [--baseline OTHER/.venv/bin/python]

With ``--baseline``, the same measurement runs under another installation's interpreter (a checkout before a
change), interleaved with ours, and the table gives ours / its CPU. Medians of ``--repeat`` runs. About 30 s a run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = ("first", "no_change", "full_compare")


def measure(studios: int, contacts: int) -> dict[str, float]:
    """Milliseconds of this process's CPU per studio for each kind of run (run in a child: its own state home)."""
    sys.path[:0] = [str(HERE), str(HERE.parent / "examples")]
    import fleet

    folder = Path(tempfile.mkdtemp(prefix="opus1-studio-cpu-"))
    farm = fleet.Farm(studios, 0, 0, folder / "sandbox.log")
    try:
        exports = fleet.make_exports(folder / "exports", studios, contacts)
        fleet.configure_all(folder / "home", farm, exports)
        from opus1_integrations.hookdata import SyncOptions
        from opus1_integrations.host import Host
        from opus1_integrations.plugins import Plugins
        from opus1_integrations.services.sync import sync_business
        from opus1_integrations.state import open_db

        plugins = Plugins()
        plugins.load_entry_points()
        host = Host(plugins, open_db())
        result = {}
        for kind in KINDS:
            if kind == "full_compare":
                for export in exports:
                    fleet.rename_one(export)
            start = time.process_time()
            for i in range(studios):
                done = sync_business(host, "mailchimp", f"studio-{i:04d}", options=SyncOptions())
                if done.exit_code:
                    raise SystemExit(f"studio-{i:04d}: {done.status}")
            result[kind] = (time.process_time() - start) / studios * 1000
        return result
    finally:
        farm.stop()


def run(python: str, args) -> dict[str, float]:
    """One measurement under ``python``, in a child process with a private state home."""
    env = {**os.environ, "OPUS1_INT_HOME": tempfile.mkdtemp(prefix="opus1-studio-cpu-home-")}
    out = subprocess.run([python, __file__, "--child", "--studios", str(args.studios), "--contacts",
                          str(args.contacts)], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studios", type=int, default=60)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--baseline", help="another installation's python (e.g. ../before/.venv/bin/python)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.studios, args.contacts)))
        return
    ours, theirs = [], []
    for n in range(args.repeat):
        if args.baseline:
            print(f"run {n + 1}/{args.repeat}: baseline", file=sys.stderr)
            theirs.append(run(args.baseline, args))
        print(f"run {n + 1}/{args.repeat}: ours", file=sys.stderr)
        ours.append(run(sys.executable, args))
    print(f"{args.studios} studios of about {args.contacts} contacts, CPU ms per studio (median of {args.repeat})")
    print(f"{'run':<14}{'ours':>8}" + (f"{'baseline':>10}{'ratio':>8}" if theirs else ""))
    for kind in KINDS:
        mine = statistics.median(r[kind] for r in ours)
        line = f"{kind:<14}{mine:>8.1f}"
        if theirs:
            base = statistics.median(r[kind] for r in theirs)
            line += f"{base:>10.1f}{mine / base:>7.2f}x"
        print(line)


if __name__ == "__main__":
    main()
