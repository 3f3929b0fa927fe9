"""What an opus1 accounts export gives the integrations, on its own: counts, the people the rules leave out by
name, and the records to fix in opus1."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..contacts import Decision, QualityIssue, load_audience

#: The people ``contacts check`` names, by the reason or note that leaves them out.
NAMED = ("no_email", "not_reached")


@dataclass(frozen=True)
class ExportReport:
    """An export's counts, its people without an email or whose family is not reached, and its issues."""

    file: str
    counts: dict
    people: dict[str, list[Decision]] = field(default_factory=dict)
    issues: list[QualityIssue] = field(default_factory=list)

    def to_dict(self) -> dict:
        """As ``contacts check --json`` prints it."""
        return {"file": self.file, "counts": self.counts,
                "people": {kind: [asdict(d) for d in found] for kind, found in self.people.items()},
                "issues": [asdict(issue) for issue in self.issues]}


def check_export(path: str | Path) -> ExportReport:
    """Read an export whole (``ExportRejected`` with its problems when it cannot) and report on it."""
    with load_audience(path) as audience:
        people: dict[str, list[Decision]] = {kind: [] for kind in NAMED}
        for decision in audience.decisions():
            for kind in NAMED:
                if decision.reason == kind or kind in decision.notes:
                    people[kind].append(decision)
        return ExportReport(str(path), audience.counts, people, list(audience.quality()))
