"""Reading: member listing (pagination, filters, fields), audience stats, merge fields, account root, ping."""

from __future__ import annotations

import pytest
import requests

from opus1_mailchimp.sandbox.clock import format_time
from opus1_mailchimp.testing import refused


def emails(page: dict) -> list[str]:
    return [m["email_address"] for m in page["members"]]


def test_ping_and_root(sb, mc):
    assert mc.ping.get() == {"health_status": "Everything's Chimpy!"}
    root = mc.root.get_root()
    assert root["username"] == "studio_owner" and root["account_name"] == "Example Music School"
    assert len(root["account_id"]) == 25 and root["login_id"].isdigit()
    assert mc.root.get_root(fields=["username", "login_id", "account_id", "account_name", "email"]).keys() == {
        "username", "login_id", "account_id", "account_name", "email"}


@pytest.mark.mailchimp_sandbox(username="freddie2000", audience_name="Freddie's Jokes", audience_id="f00d")
def test_the_account_is_configurable(mc):
    assert mc.root.get_root()["username"] == "freddie2000"
    assert mc.lists.get_list("f00d")["name"] == "Freddie's Jokes"


def test_default_page_is_10_and_pages_cover_everyone_once(sb, mc, aud):
    for i in range(25):
        sb.seed_member(f"p{i:02}@posteo.de")
    first = mc.lists.get_list_members_info(aud)
    assert len(first["members"]) == 10 and first["total_items"] == 25 and first["list_id"] == aud
    seen = []
    for offset in range(0, 25, 7):
        seen += emails(mc.lists.get_list_members_info(aud, count=7, offset=offset))
    assert seen == [f"p{i:02}@posteo.de" for i in range(25)]
    assert mc.lists.get_list_members_info(aud, count=10, offset=30)["members"] == []


def test_count_is_at_most_1000(sb, aud):
    auth = ("user", sb.api_key)
    ok = requests.get(f"{sb.base_url}/lists/{aud}/members", params={"count": 1000}, auth=auth, timeout=5)
    too_many = requests.get(f"{sb.base_url}/lists/{aud}/members", params={"count": 1001}, auth=auth, timeout=5)
    assert ok.status_code == 200
    assert too_many.status_code == 400 and too_many.json()["errors"][0]["field"] == "count"


def test_fields_and_exclude_fields_with_dot_notation(sb, mc, aud):
    sb.seed_member("ana@posteo.de", merge_fields={"FNAME": "Ana"}, tags=["T"])
    page = mc.lists.get_list_members_info(aud, fields=["members.email_address", "members.merge_fields.FNAME",
                                                       "total_items"])
    assert page == {"members": [{"email_address": "ana@posteo.de", "merge_fields": {"FNAME": "Ana"}}], "total_items": 1}
    trimmed = mc.lists.get_list_members_info(aud, exclude_fields=["members._links", "members.tags", "_links"])
    assert "_links" not in trimmed and "tags" not in trimmed["members"][0]
    assert trimmed["members"][0]["email_address"] == "ana@posteo.de" and "tags_count" in trimmed["members"][0]
    member = mc.lists.get_list_member(aud, "ana@posteo.de", fields=["status", "tags.name"])
    assert member == {"status": "subscribed", "tags": [{"name": "T"}]}
    assert mc.lists.get_list(aud, fields=["id", "name", "stats.member_count"]) == {
        "id": aud, "name": "Example Music School", "stats": {"member_count": 1}}


def test_status_filter_and_archived_left_out_by_default(sb, mc, aud):
    for status in ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"):
        sb.seed_member(f"{status}@posteo.de", status)
    sb.seed_member("second@posteo.de", "archived")
    everyone = mc.lists.get_list_members_info(aud, count=100)
    assert sorted(emails(everyone)) == sorted(f"{s}@posteo.de" for s in ("subscribed", "unsubscribed", "cleaned",
                                                                       "pending", "transactional"))
    assert everyone["total_items"] == 5
    archived = mc.lists.get_list_members_info(aud, status="archived", count=1)
    assert archived["total_items"] == 2 and emails(archived) == ["archived@posteo.de"]
    assert emails(mc.lists.get_list_members_info(aud, status="cleaned")) == ["cleaned@posteo.de"]
    code, problem = refused(mc.lists.get_list_members_info, aud, status="gone")
    assert (code, problem["errors"][0]["field"]) == (400, "status")


def test_since_last_changed_returns_what_changed_at_or_after_the_time(sb, mc, aud, clock):
    sb.seed_member("old@posteo.de")
    sb.seed_member("touched@posteo.de")
    clock.advance(3600)
    cutoff = format_time(clock.now)
    mc.lists.update_list_member(aud, "touched@posteo.de", {"merge_fields": {"FNAME": "T"}})
    sb.seed_member("new@posteo.de")
    page = mc.lists.get_list_members_info(aud, since_last_changed=cutoff)
    assert sorted(emails(page)) == ["new@posteo.de", "touched@posteo.de"] and page["total_items"] == 2
    assert emails(mc.lists.get_list_members_info(aud, before_last_changed=format_time(clock.now - 1))) == ["old@posteo.de"]
    code, problem = refused(mc.lists.get_list_members_info, aud, since_last_changed="yesterday")
    assert (code, problem["errors"][0]["field"]) == (400, "since_last_changed")


def test_other_member_filters_and_sorting(sb, mc, aud, clock):
    sb.seed_member("a@posteo.de")
    clock.advance(10)
    sb.seed_member("b@posteo.de", "pending")
    clock.advance(10)
    c = sb.seed_member("c@posteo.de")
    mc.lists.update_list_member(aud, "c@posteo.de", {"vip": True, "email_type": "text"})
    assert emails(mc.lists.get_list_members_info(aud, vip_only=True)) == ["c@posteo.de"]
    assert emails(mc.lists.get_list_members_info(aud, email_type="text")) == ["c@posteo.de"]
    assert emails(mc.lists.get_list_members_info(aud, unique_email_id=c["unique_email_id"])) == ["c@posteo.de"]
    assert emails(mc.lists.get_list_members_info(aud, since_timestamp_opt=format_time(clock.now - 5))) == ["c@posteo.de"]
    assert emails(mc.lists.get_list_members_info(aud, before_timestamp_opt=format_time(clock.now - 5))) == ["a@posteo.de"]
    assert emails(mc.lists.get_list_members_info(aud, sort_field="last_changed", sort_dir="DESC")) == [
        "c@posteo.de", "b@posteo.de", "a@posteo.de"]


def test_list_stats_follow_the_members(sb, mc, aud):
    for i, status in enumerate(["subscribed", "subscribed", "unsubscribed", "cleaned", "pending", "archived"]):
        sb.seed_member(f"m{i}@posteo.de", status)
    info = mc.lists.get_list(aud)
    assert info["id"] == aud and info["name"] == "Example Music School"
    stats = info["stats"]
    assert (stats["member_count"], stats["unsubscribe_count"], stats["cleaned_count"]) == (2, 1, 1)
    assert "total_contacts" not in stats and stats["merge_field_count"] == 3
    assert mc.lists.get_list(aud, include_total_contacts=True)["stats"]["total_contacts"] == 6
    mc.lists.delete_list_member(aud, "m0@posteo.de")
    assert mc.lists.get_list(aud)["stats"]["member_count"] == 1
    assert mc.root.get_root()["total_subscribers"] == 1


@pytest.mark.mailchimp_sandbox(merge_fields=("FNAME", "LNAME", "PHONE", "ADDRESS", "BIRTHDAY",
                                             {"tag": "INSTRUMENT", "name": "Instrument", "type": "dropdown",
                                              "choices": ["Piano", "Violin"], "required": True}))
def test_merge_fields_describe_the_audience(mc, aud):
    answer = mc.lists.get_list_merge_fields(aud, count=100)
    assert answer["merge_field_limit"] == 30 and answer["total_items"] == 6 and answer["list_id"] == aud
    fields = {f["tag"]: f for f in answer["merge_fields"]}
    assert [f["tag"] for f in answer["merge_fields"]] == ["FNAME", "LNAME", "PHONE", "ADDRESS", "BIRTHDAY", "INSTRUMENT"]
    assert (fields["FNAME"]["name"], fields["FNAME"]["type"], fields["FNAME"]["required"]) == ("First Name", "text", False)
    assert fields["PHONE"]["type"] == "phone" and fields["ADDRESS"]["options"] == {"default_country": 164}
    assert fields["BIRTHDAY"]["options"]["date_format"] == "MM/DD"
    assert fields["INSTRUMENT"]["required"] and fields["INSTRUMENT"]["options"]["choices"] == ["Piano", "Violin"]
    assert mc.lists.get_list_merge_fields(aud)["merge_fields"][0]["tag"] == "FNAME"
    assert [f["tag"] for f in mc.lists.get_list_merge_fields(aud, count=2, offset=4)["merge_fields"]] == [
        "BIRTHDAY", "INSTRUMENT"]


def test_every_member_key_can_be_selected_alone(sb, mc, aud):
    sb.seed_member("ana@posteo.de", merge_fields={"FNAME": "Ana", "LNAME": "Silva"}, tags=["T"])
    full = mc.lists.get_list_members_info(aud)["members"][0]
    for key, value in full.items():
        assert mc.lists.get_list_members_info(aud, fields=[f"members.{key}"]) == {"members": [{key: value}]}
    assert full["full_name"] == "Ana Silva"
