"""Everything wrong with a business's integrations, each with how to fix it: the plugin's own findings, the run log's
(failed, interrupted or stale runs, contacts the service refused) and the export's (data to fix in opus1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from .. import runlog, schedule
from ..business import business_id
from ..clock import utcnow
from ..errors import ExportRejected, SettingsInvalid
from ..hookdata import Finding, Severity
from ..host import Host
from ..runlog import ItemOutcome, RunStatus
from ..settings import StoredSettings
from .exports import derived
from .sync import contacts_path

STALE_AFTER = timedelta(hours=48)


@dataclass(frozen=True)
class IntegrationFinding:
    """A finding of one integration."""

    integration: str
    finding: Finding

    def to_dict(self) -> dict:
        """As ``diagnose --json`` lists it."""
        return {"integration": self.integration, **self.finding.to_dict()}


@dataclass(frozen=True)
class Diagnosis:
    """What ``diagnose`` found for one business."""

    business: str
    findings: list[IntegrationFinding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        """How many findings are errors (``diagnose`` exits 1 when any)."""
        return sum(f.finding.severity is Severity.ERROR for f in self.findings)

    def to_dict(self) -> dict:
        """As ``diagnose --json`` prints it."""
        return {"business": self.business, "errors": self.errors, "findings": [f.to_dict() for f in self.findings]}


def diagnose(host: Host, business: str, integration: str | None = None, *, now: datetime | None = None) -> Diagnosis:
    """Every problem of one integration (or of every integration the business has, and of every broken plugin).

    A business with no such integration configured is a settings error (exit 3), not a clean bill of health.
    """
    now = now or utcnow()
    business_id(business)
    broken = sorted(n for n, p in host.plugins.loaded.items() if p.error and integration in (None, n))
    names = [integration] if integration else sorted(
        n for n in host.plugins.names() if host.stored(n, business) is not None)
    found = [IntegrationFinding(n, Finding(Severity.ERROR, "plugin_broken", host.plugins.loaded[n].error,
                                           "reinstall or upgrade the plugin"))
             for n in broken]
    if not found and not names:
        installed = host.plugins.names() or ["INTEGRATION"]
        raise SettingsInvalid(
            f"business {business!r} has no integration configured",
            hint=" or ".join(f"`opus1-int configure {n} --business {business}`" for n in installed) + " sets one up")
    for name in names:
        if name in broken:
            continue
        found += [IntegrationFinding(name, f) for f in _findings(host, name, business, now)]
    return Diagnosis(business, found)


def _findings(host: Host, name: str, business: str, now: datetime) -> list[Finding]:
    integration = host.integration(name)
    stored = host.require_stored(name, business)  # like every other command: exit 3
    findings: list[Finding] = []
    if not stored.enabled:
        findings.append(Finding(Severity.WARNING, "disabled", f"{name} is disabled for business {business!r}",
                                f"enable it with `opus1-int configure {name} --business {business}`"))
    try:
        configured = host.configured(name, business)
    except SettingsInvalid as exc:  # saved settings that no longer hold (a missing environment variable, ...)
        findings.append(Finding(Severity.ERROR, "settings", exc.message, exc.hint))
    else:
        findings += integration.diagnose(host.context(integration, business), configured.settings)
    findings += _run_findings(host, name, business, now)
    findings += _export_findings(host, name, business, stored)
    return findings


def _run_findings(host: Host, name: str, business: str, now: datetime) -> list[Finding]:
    runs = [r for r in runlog.list_runs(host.db, business=business, integration=name, limit=200) if not r["dry_run"]]
    run_again = f"`opus1-int sync {name} --business {business}`"
    if not runs:
        return [Finding(Severity.WARNING, "never_synced", f"{name} has never synced business {business!r}",
                        f"run {run_again}")]
    findings = []
    last = runs[0]
    if last["status"] in (RunStatus.FAILED, RunStatus.INTERRUPTED):
        findings.append(Finding(
            Severity.ERROR, f"last_run_{last['status']}",
            f"the last sync (run {last['id']}, {last['started_at']}) {last['status']}: {last['error']}",
            f"fix the cause above and run {run_again} again; the next run redoes what this one did not finish"))
    finished = [r for r in runs if r["status"] in runlog.FINISHED]
    if not finished:
        if last["status"] not in (RunStatus.FAILED, RunStatus.INTERRUPTED):
            findings.append(Finding(Severity.WARNING, "never_synced", f"{name} has no finished sync yet", None))
        return findings
    last_ok = datetime.fromisoformat(finished[0]["finished_at"])
    stale_after = max(STALE_AFTER, 2 * timedelta(hours=schedule.interval_hours(host.db, business, name)))
    if now - last_ok > stale_after:
        findings.append(Finding(
            Severity.ERROR, "stale",
            f"no finished sync since {finished[0]['finished_at']} (over {stale_after.total_seconds() / 3600:g} hours)",
            "check that the scheduled job runs (`opus1-int runs`, docs/operations.md) and fix the errors listed here"))
    for item in runlog.items(host.db, finished[0]["id"], outcome=ItemOutcome.FAILED):
        findings.append(Finding(Severity.ERROR, item["error_code"] or "item_failed", f"{item['key']}: {item['message']}",
                                item["hint"] or "fix the contact in opus1; the next sync sends it again"))
    return findings


def export_findings(path: str | Path) -> list[Finding]:
    """The export's data-quality issues as findings, worked out once per loaded export (``exports.derived``): a
    100,000-contact export can hold 10,000 of them."""
    return derived(path, "diagnose", lambda audience: [
        Finding(Severity.WARNING, issue.code, issue.message, issue.fix) for issue in audience.quality()])


def _export_findings(host: Host, name: str, business: str, stored: StoredSettings) -> list[Finding]:
    try:
        path = contacts_path(host, name, business, stored=stored)
    except SettingsInvalid as exc:
        return [Finding(Severity.WARNING, "no_export", exc.message, exc.hint)]
    try:
        return export_findings(path)
    except ExportRejected as exc:
        return [Finding(Severity.ERROR, "export_rejected", exc.message, exc.hint)]
