"""The no-change fast path: a run whose export, settings and audience are those of the last complete sync ends at
once, after two questions to Mailchimp asked at the same time.

1. Did any member change since that sync ended? (``GET /lists/{id}/members?since_last_changed=…``, one member at
   most.) That listing leaves out archived members, and permanently deleted ones are gone from it, so:
2. Are the audience's counts those that sync left? (``GET /lists/{id}``: its subscribed, unsubscribed, cleaned and
   total contacts.) An audience emptied, archived or deleted in Mailchimp differs here.

Any difference makes the run a full sync (which compares every member); ``--force`` always does one.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from opus1_integrations.api import IN_LINE, ItemOutcome

from .client import Mailchimp
from .ledger import Ledger, settings_digest

#: The audience's counts compared: Mailchimp's ``stats`` of ``GET /lists/{id}`` (``total_contacts`` counts every
#: member, archived ones included, and needs ``include_total_contacts``).
STATS = ("member_count", "unsubscribe_count", "cleaned_count", "total_contacts")
STATS_SHAPE = {"stats": {f"{name}?": int for name in STATS}}
#: The outcomes of the last complete sync that a run with nothing to do counts again as left alone (members not
#: subscribed, and those the last sync unsubscribed, archived or handled as leavers); those in line (``IN_LINE``)
#: it counts as unchanged.
LEFT_ALONE = ("left_alone", "unsubscribed", "archived", "leaver_tagged", "leaver_kept")


def audience_counts(mc: Mailchimp, audience_id: str) -> dict[str, int]:
    """The audience's counts as Mailchimp gives them now (``STATS``; one it leaves out is ``None``)."""
    answer = mc.call(mc.lists.get_list, audience_id, include_total_contacts=True,
                     fields=[f"stats.{name}" for name in STATS], shape=STATS_SHAPE)
    return {name: answer["stats"].get(name) for name in STATS}


def nothing_changed(mc: Mailchimp, ledger: Ledger, fingerprint: str, settings: dict, counted) -> dict | None:
    """The counts of a run with nothing to do, when the export (its ``fingerprint``) and settings are those of the
    last complete sync, no member changed in Mailchimp since it ended, and the audience's counts are those it
    left; ``None`` when a full sync is needed. ``counted`` makes the counts dict from a ``Counter`` of outcomes."""
    last = ledger.last_sync()
    if (last is None or last.audience_counts is None or last.fingerprint != fingerprint
            or last.settings != settings_digest(settings)):
        return None
    audience_id = settings["audience_id"]
    with ThreadPoolExecutor(max_workers=1) as pool:  # one question on a thread, the other on this one
        counts = pool.submit(audience_counts, mc, audience_id)
        changed = mc.call(mc.lists.get_list_members_info, audience_id, since_last_changed=last.ended_at, count=1,
                          fields=["total_items"], shape={"total_items": int})
        if changed["total_items"] or counts.result() != last.audience_counts:
            return None
    before = last.counts
    tally = Counter({ItemOutcome.UNCHANGED: sum(before.get(k, 0) for k in IN_LINE),
                     ItemOutcome.LEFT_ALONE: sum(before.get(k, 0) for k in LEFT_ALONE),
                     ItemOutcome.SKIPPED: before.get("skipped", 0)})
    return {**counted(tally), "requests": mc.requests, "writes": mc.writes, "nothing_changed": True}
