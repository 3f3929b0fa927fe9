"""The services the pages render: paged run items, integration status and the operator's overview, configure's
``unset``, the shared export cache; and the `opus1-int web` commands."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from opus1_integrations import runlog, state
from opus1_integrations.errors import SettingsInvalid, UsageError
from opus1_integrations.host import Host
from opus1_integrations.runlog import ItemOutcome
from opus1_integrations.services import exports
from opus1_integrations.services.configure import configure
from opus1_integrations.services.runs import get_run, run_items
from opus1_integrations.services.status import business_status, overview

from .conftest import mailchimp_settings, studio_export

OUTCOMES = [o.value for o in ItemOutcome]


def record_run(db, business: str, outcomes: list[str]) -> int:
    """A finished run of ``business`` that recorded one item per outcome given, keyed by position."""
    with runlog.running(db, business, "mailchimp", False) as run:
        for n, outcome in enumerate(outcomes):
            run.record(f"c{n}@example.org", outcome, message="refused" if outcome == "failed" else None)
    return run.id


def failures_first(outcomes: list[str]) -> list[str]:
    """The documented order of a run's items: failed first, then by outcome, the most frequent first (ties by name),
    each in the order recorded."""
    count = {o: outcomes.count(o) for o in outcomes}
    order = sorted(range(len(outcomes)), key=lambda n: (outcomes[n] != "failed", -count[outcomes[n]], outcomes[n], n))
    return [f"c{n}@example.org" for n in order]


@pytest.fixture
def host(plugins) -> Host:
    return Host(plugins, state.open_db())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(outcomes=st.lists(st.sampled_from(OUTCOMES), max_size=60), per_page=st.integers(1, 25))
def test_run_items_pages_list_every_item_once_failures_first(host, outcomes, per_page):
    run_id = record_run(host.db, "studio", outcomes)
    first = run_items(host, run_id, 1, per_page)
    seen = [i["key"] for page in range(1, first.pages + 1) for i in run_items(host, run_id, page, per_page).items]
    assert seen == failures_first(outcomes)
    assert first.total == len(outcomes) and sum(first.by_outcome.values()) == len(outcomes)
    assert list(first.by_outcome)[:1] == (["failed"] if "failed" in outcomes else list(first.by_outcome)[:1])
    assert run_items(host, run_id, first.pages + 1, per_page).items == []


def test_run_items_of_one_outcome(host):
    run_id = record_run(host.db, "studio", ["created", "failed", "created", "skipped", "created"])
    page = run_items(host, run_id, 2, 2, outcome="created")
    assert [i["key"] for i in page.items] == ["c4@example.org"]
    assert page.total == 3 and page.pages == 2
    with pytest.raises(UsageError, match="not an item outcome"):
        run_items(host, run_id, outcome="exploded")


def test_a_run_of_another_business_is_not_found(host):
    run_id = record_run(host.db, "studio", ["created"])
    assert get_run(host, run_id, business="studio")["id"] == run_id
    with pytest.raises(UsageError, match="no run"):
        get_run(host, run_id, business="other")
    with pytest.raises(UsageError):
        run_items(host, run_id + 1)


def test_business_status_has_a_card_per_installed_integration_broken_ones_too(host, mailchimp_sandbox, tmp_path):
    host.plugins.loaded["ghost"] = type(host.plugins.loaded["csv"])(name="ghost", error="ImportError: no module")
    configure(host, "mailchimp", "studio", mailchimp_settings(mailchimp_sandbox), contacts_path=str(studio_export(tmp_path)))
    record_run(host.db, "studio", ["created", "failed", "failed"])
    cards = {s.integration: s for s in business_status(host, "studio")}
    assert set(cards) == {"csv", "ghost", "mailchimp"}
    assert cards["ghost"].outcome == "broken" and "ImportError" in cards["ghost"].broken
    assert cards["csv"].outcome == "not configured" and not cards["csv"].due
    mailchimp = cards["mailchimp"]
    assert mailchimp.enabled and mailchimp.outcome == "partial" and mailchimp.failed_items == 2
    assert mailchimp.last_ok and mailchimp.due_at > mailchimp.last_ok and not mailchimp.due  # next due in 24 h


def test_overview_sorts_every_configured_business(host, mailchimp_sandbox, tmp_path):
    for business in ("b-studio", "a-studio", "c-studio"):
        configure(host, "mailchimp", business, mailchimp_settings(mailchimp_sandbox), contacts_path=str(studio_export(tmp_path)))
    record_run(host.db, "c-studio", ["failed", "failed"])
    record_run(host.db, "a-studio", ["failed"])
    assert [s.business for s in overview(host)] == ["a-studio", "b-studio", "c-studio"]
    assert [s.business for s in overview(host, sort="failed", descending=True)] == ["c-studio", "a-studio", "b-studio"]
    with pytest.raises(UsageError, match="cannot sort"):
        overview(host, sort="mood")


def test_configure_unset_drops_a_saved_setting_so_its_default_applies(host, mailchimp_sandbox):
    given = mailchimp_settings(mailchimp_sandbox) | {"leaver_tag": "gone"}
    configure(host, "mailchimp", "studio", given)
    assert host.stored("mailchimp", "studio").settings["leaver_tag"] == "gone"
    configure(host, "mailchimp", "studio", {}, unset=("leaver_tag",))
    assert "leaver_tag" not in host.stored("mailchimp", "studio").settings
    assert host.configured("mailchimp", "studio").settings["leaver_tag"] == "opus1-left"
    with pytest.raises(SettingsInvalid, match="user_id"):  # a required one cannot be dropped
        configure(host, "mailchimp", "studio", {}, unset=("user_id",))


def test_a_shared_export_is_reloaded_when_its_file_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "_keeping", True)
    path = studio_export(tmp_path)
    try:
        with exports.shared_audience(path) as first:
            count = first.counts["contacts"]
        with exports.shared_audience(path) as again:
            assert again is first
        path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
        os.utime(path, ns=(1, 1))
        with exports.shared_audience(path) as changed:
            assert changed is not first and changed.counts["contacts"] < count
    finally:
        exports.forget()


def test_a_derived_view_is_worked_out_once_per_loaded_export(tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "_keeping", True)
    path, calls = studio_export(tmp_path), []

    def count(audience):
        calls.append(audience)
        return audience.counts["contacts"]

    try:
        assert exports.derived(path, "n", count) == exports.derived(path, "n", count) > 0
        assert len(calls) == 1
        os.utime(path, ns=(1, 1))  # changed: loaded and worked out again
        exports.derived(path, "n", count)
        assert len(calls) == 2
    finally:
        exports.forget()


# -- opus1-int web ---------------------------------------------------------------------------


def test_web_link_prints_the_link_alone_on_stdout(run_cli):
    result = run_cli("web", "link", "--business", "studio", "--base-url", "https://int.example/tab/")
    result.assert_success()
    assert result.out.startswith("https://int.example/tab/signin?token=") and result.out.count("\n") == 1
    assert "valid once within 15 minutes" in result.err


@pytest.mark.parametrize("args", [[], ["--business", "b", "--operator"]])
def test_web_link_needs_one_business_or_operator(run_cli, args):
    run_cli("web", "link", *args).assert_failed(2)


def test_web_serve_refuses_a_reachable_host_without_allow_remote(run_cli):
    result = run_cli("web", "serve", "--host", "0.0.0.0", "--port", "0")
    result.assert_failed(2)
    assert "--allow-remote" in result.err


def test_loopback_hosts_are_recognised():
    from opus1_integrations.web.server import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.4", "example.org", "::"))
