"""Facts in words, spelled once for every front door (the CLI's ``render`` and the web's templates use these)."""

from __future__ import annotations

from ..runlog import ItemOutcome

#: Each outcome in words, for a finished sync and for a dry run.
WORDS: dict[str, tuple[str, str]] = {
    ItemOutcome.CREATED: ("added", "would be added"),
    ItemOutcome.UPDATED: ("updated", "would be updated"),
    ItemOutcome.EMAIL_CHANGED: ("moved to a new address", "would move to a new address"),
    ItemOutcome.UNCHANGED: ("already up to date", "already up to date"),
    ItemOutcome.UNSUBSCRIBED: ("unsubscribed", "would be unsubscribed"),
    ItemOutcome.ARCHIVED: ("archived as leavers", "would be archived as leavers"),
    ItemOutcome.REMOVED: ("removed as leavers", "would be removed as leavers"),
    ItemOutcome.LEAVER_TAGGED: ("tagged as leavers", "would be tagged as leavers"),
    ItemOutcome.LEAVER_KEPT: ("leavers kept", "leavers would be kept"),
    ItemOutcome.LEAVER_GONE: ("leavers already gone", "leavers already gone"),
    ItemOutcome.LEFT_ALONE: ("left alone", "would be left alone"),
    ItemOutcome.SKIPPED: ("not sent", "would not be sent"),
    ItemOutcome.FAILED: ("refused", "would fail"),
}
IRREGULAR = {"person": "people", "child": "children"}
#: Why the host's rules did not sync a person, in words (``REASONS`` in the contacts package explains each).
NOT_SYNCED_WORDS = {"child": ("child", "children"), "account_archived": ("on archived accounts",) * 2,
                    "no_email": ("without an email",) * 2, "invalid_email": ("with an invalid email",) * 2}


def outcome_word(outcome: str) -> str:
    """An outcome of a finished sync in words (one a plugin added of its own: its name, spaced)."""
    return WORDS[outcome][0] if outcome in WORDS else str(outcome).replace("_", " ")


def plural(n: int, word: str) -> str:
    """``1 contact``, ``2 contacts``, ``3 people``."""
    return f"{n} {word if n == 1 else IRREGULAR.get(word, word + 's')}"


def not_synced_in_words(not_synced: dict[str, int]) -> str:
    """``127 children, 11 without an email``: why people were not synced, by the host's rules."""
    return ", ".join(f"{n} {NOT_SYNCED_WORDS.get(reason, (reason.replace('_', ' '),) * 2)[n != 1]}"
                     for reason, n in not_synced.items())


def outcomes_in_words(counts: dict, *, dry_run: bool = False) -> str:
    """The outcomes a plugin counted, in words, zeros left out: ``3 added, 980 already up to date``."""
    parts = [f"{counts[o]} {WORDS[o][dry_run]}" for o in WORDS if isinstance(counts.get(o), int) and counts[o]]
    return ", ".join(parts) or "nothing to do"


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
