"""Facts in words, spelled once for every front door."""

from __future__ import annotations


def counts_text(counts: dict) -> str:
    """A plugin's counts on one line: ``created 3, updated 1, ...`` (numbers only)."""
    return ", ".join(f"{k} {v}" for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool))


def facts_text(facts: dict) -> str:
    """A plugin's live facts on one line: nested values flattened, empty ones left out."""
    parts = []
    for name, value in facts.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items() if v not in (None, ""))
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if value not in (None, ""):
            parts.append(f"{name} {value}")
    return " · ".join(parts)
