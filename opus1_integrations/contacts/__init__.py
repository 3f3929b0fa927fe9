"""The host's contacts: one clean list of contacts for every email integration built from a studio's opus1 accounts export.

``load_audience(path)`` reads and validates the export, applies the audience rules and returns an ``Audience``
(a context manager): its contacts, a decision with a reason code for every person, and a data-quality report.
``LazyAudience(path)`` is the same, loaded on first use, with a ``fingerprint`` of the file that needs no load.
"""

from .audience import Audience, email_key, load_audience
from .lazy import LazyAudience
from .model import NOTES, QUALITY_CODES, REASONS, Contact, Decision, Problem, QualityIssue

__all__ = [
    "NOTES", "QUALITY_CODES", "REASONS", "Audience", "Contact", "Decision", "LazyAudience", "Problem", "QualityIssue",
    "email_key", "load_audience",
]
