"""``make mutation``: mutmut on one module, with the tests that must kill its mutants; prints the score.

    python tests/mutation.py FOLDER MODULE TESTS[,TESTS...] [--only FUNCTION[,Class.method...]] [--min 90] [--jobs N]

mutmut 3 reads its settings in the folder it runs in and copies that folder's code to ``mutants/`` there. This
script writes the settings to ``FOLDER/setup.cfg`` for the run (so FOLDER's pyproject.toml must have no
``[tool.mutmut]`` section) and removes them afterwards; it starts from a fresh ``mutants/`` each time (several
modules may share a folder). MODULE and TESTS are relative to FOLDER; MODULE's top
folder is the package mutmut copies, and the other files git tracks at FOLDER's top are copied beside it (the
tests read schemas and examples). ``--only`` restricts the run and its score to some functions of MODULE (mutmut
still mutates the whole file; the other mutants are not run). Exits 1 when fewer than ``--min`` percent of the
mutants are killed.
docs/testing.md lists the survivors and why they are equivalent.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

MUTMUT = Path(sys.executable).with_name("mutmut")


def _settings(folder: Path, module: str, tests: str) -> str:
    package = Path(module).parts[0]
    tracked = subprocess.run(["git", "ls-files"], cwd=folder, capture_output=True, text=True, check=True).stdout.split()
    selection = tests.split(",")
    also = sorted({Path(name).parts[0] for name in tracked} - {package} - {Path(t).parts[0] for t in selection})
    lines = [
        "[mutmut]",
        f"source_paths = {package}",
        f"only_mutate = {module}",
        "pytest_add_cli_args_test_selection =",
        *(f"    {name}" for name in selection),
        "pytest_add_cli_args = -p no:cacheprovider -q",
        "also_copy =",
        *(f"    {name}" for name in also),
    ]
    return "\n".join(lines) + "\n"


def _patterns(module: str, only: str) -> list[str]:
    """mutmut's names of the mutants of the functions in ``only`` (``name`` or ``Class.method``), as patterns."""
    dotted = module.removesuffix(".py").replace("/", ".")
    patterns = []
    for function in filter(None, only.split(",")):
        owner, _, name = function.rpartition(".")
        patterns.append(f"{dotted}.x{'ǁ' + owner + 'ǁ' if owner else '_'}{name}__mutmut_*")
    return patterns


def _statuses(results: str, patterns: list[str]) -> dict[str, str]:
    """Each mutant's status from ``mutmut results --all true`` (lines ``name: status``), only those matching
    ``patterns`` when there are any."""
    found = dict(line.strip().rsplit(": ", 1) for line in results.splitlines() if ": " in line)
    return {name: status for name, status in found.items() if not patterns or any(fnmatch(name, p) for p in patterns)}


def main() -> int:
    """Run mutmut for one module and its tests; print killed/total and the survivors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("module")
    parser.add_argument("tests")
    parser.add_argument("--min", type=float, default=90.0, help="the lowest acceptable share of killed mutants, in percent")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", default="", help="comma-separated functions of MODULE (Class.method for a method) "
                                                   "to mutate and score; default: all of it")
    args = parser.parse_args()
    patterns = _patterns(args.module, args.only)
    config = args.folder / "setup.cfg"
    if config.exists():
        parser.error(f"{config} exists: mutmut would read it; move it away first")
    shutil.rmtree(args.folder / "mutants", ignore_errors=True)  # another module's mutants, or stale results
    config.write_text(_settings(args.folder, args.module, args.tests))
    try:
        subprocess.run([MUTMUT, "run", "--max-children", str(args.jobs), *patterns], cwd=args.folder, check=True)
        results = subprocess.run([MUTMUT, "results", "--all", "true"], cwd=args.folder, check=True,
                                 capture_output=True, text=True).stdout
    finally:
        config.unlink()
    statuses = _statuses(results, patterns)
    counts = Counter(statuses.values())
    tested = len(statuses) - counts["skipped"]
    killed = counts["killed"] + counts["timeout"]
    score = 100 * killed / tested if tested else 0.0
    scope = f"{args.module} ({args.only})" if args.only else args.module
    print(f"{scope}: {killed} of {tested} mutants killed ({score:.1f}%) by {args.tests}; "
          f"survived {counts['survived']}, no tests {counts['no tests']}, suspicious {counts['suspicious']}")
    others = sorted(f"    {name}: {status}" for name, status in statuses.items() if status not in ("killed", "timeout"))
    if others:
        print("Survivors and other results (see each with `mutmut show NAME` in that folder):")
        print("\n".join(others))
    return 0 if score >= args.min else 1


if __name__ == "__main__":
    sys.exit(main())
