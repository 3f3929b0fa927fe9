"""``make mutation``: mutmut on one module, with the tests that must kill its mutants; prints the score.

    python tests/mutation.py FOLDER MODULE TESTS[,TESTS...] [--min 90] [--jobs N]

mutmut 3 reads its settings in the folder it runs in and copies that folder's code to ``mutants/`` there. This
script writes the settings to ``FOLDER/setup.cfg`` for the run (so FOLDER's pyproject.toml must have no
``[tool.mutmut]`` section) and removes them afterwards. MODULE and TESTS are relative to FOLDER; MODULE's top
folder is the package mutmut copies, and the other files git tracks at FOLDER's top are copied beside it (the
tests read schemas and examples). Exits 1 when fewer than ``--min`` percent of the mutants are killed.
docs/testing.md lists the survivors and why they are equivalent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
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


def main() -> int:
    """Run mutmut for one module and its tests; print killed/total and the survivors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("module")
    parser.add_argument("tests")
    parser.add_argument("--min", type=float, default=90.0, help="the lowest acceptable share of killed mutants, in percent")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    config = args.folder / "setup.cfg"
    if config.exists():
        parser.error(f"{config} exists: mutmut would read it; move it away first")
    config.write_text(_settings(args.folder, args.module, args.tests))
    try:
        subprocess.run([MUTMUT, "run", "--max-children", str(args.jobs)], cwd=args.folder, check=True)
        subprocess.run([MUTMUT, "export-cicd-stats"], cwd=args.folder, check=True, capture_output=True)
        survivors = subprocess.run([MUTMUT, "results"], cwd=args.folder, check=True, capture_output=True, text=True).stdout
    finally:
        config.unlink()
    stats = json.loads((args.folder / "mutants" / "mutmut-cicd-stats.json").read_text())
    tested = stats["total"] - stats["skipped"]
    killed = stats["killed"] + stats["timeout"]
    score = 100 * killed / tested if tested else 0.0
    print(f"{args.module}: {killed} of {tested} mutants killed ({score:.1f}%) by {args.tests}; "
          f"survived {stats['survived']}, no tests {stats['no_tests']}, suspicious {stats['suspicious']}")
    if survivors.strip():
        print("Survivors and other results (see each with `mutmut show NAME` in that folder):")
        print(survivors.rstrip())
    return 0 if score >= args.min else 1


if __name__ == "__main__":
    sys.exit(main())
