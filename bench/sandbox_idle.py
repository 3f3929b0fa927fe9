"""What an idle Mailchimp sandbox process costs: CPU time and thread wake-ups while no request arrives.

    python bench/sandbox_idle.py [--seconds 10] [--repeat 3]

Starts `python -m opus1_mailchimp.sandbox --port 0`, waits 2 s, then reads `utime + stime` from /proc/<pid>/stat
and the context switches of all its threads from /proc/<pid>/task/*/status before and after `--seconds` of
silence. The baseline, measured in the same run the same way, is the standard library's own idle HTTP server
(`python -m http.server`, whose `serve_forever` wakes every 0.5 s to look for a shutdown request). Linux only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def usage(pid: int) -> tuple[float, int]:
    """CPU seconds so far and context switches of every thread so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    switches = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        for line in Path(f"/proc/{pid}/task/{task}/status").read_text().splitlines():
            if "ctxt_switches" in line:
                switches += int(line.split()[1])
    return cpu, switches


def idle(command: list[str], seconds: float) -> tuple[float, int]:
    """CPU seconds and wake-ups of a server process left alone for ``seconds``."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        cpu0, switches0 = usage(proc.pid)
        time.sleep(seconds)
        cpu1, switches1 = usage(proc.pid)
        return cpu1 - cpu0, switches1 - switches0
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    servers = {"sandbox": [sys.executable, "-m", "opus1_mailchimp.sandbox", "--port", "0"],
               "baseline: stdlib http.server": [sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1"]}
    for name, command in servers.items():
        runs = [idle(command, args.seconds) for _ in range(args.repeat)]
        cpu = statistics.median(r[0] for r in runs)
        wakeups = statistics.median(r[1] for r in runs)
        print(f"{name:30} idle {args.seconds:.0f} s: CPU {cpu:.3f} s, {wakeups:.0f} thread wake-ups "
              f"(median of {args.repeat})")


if __name__ == "__main__":
    main()
