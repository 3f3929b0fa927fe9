"""docs/security.md names a test for every case: each one named there exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
NAMED = re.compile(r"`([\w./-]+\.py)::(\w+)`")


def test_every_test_named_in_the_security_table_exists():
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| case")]
    assert rows and all(NAMED.search(row) for row in rows), "every row names at least one test"
    missing = [f"{path}::{name}" for path, name in NAMED.findall(text)
               if not (ROOT / path).is_file() or not re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M)]
    assert missing == []
