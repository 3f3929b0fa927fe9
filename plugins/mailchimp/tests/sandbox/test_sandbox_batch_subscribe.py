"""Batch subscribe (``POST /lists/{id}``): 200 with per-member errors; compliance rules apply per member."""

from __future__ import annotations

import time

import pytest

from opus1_mailchimp.testing import refused

EXISTS = ("{} is already a list member, do you want to update? please provide update_existing:true in the request "
          "body")


def member(email, status="subscribed", **extra):
    return {"email_address": email, "status": status, **extra}


def by_email(rows):
    return {r["email_address"]: r for r in rows}


def test_new_members_and_per_member_errors_in_one_200(sb, mc, aud):
    sb.seed_member("exists@posteo.de")
    sb.seed_member("gone@posteo.de", forgotten=True)
    answer = mc.lists.batch_list_members(aud, {"members": [
        member("new@posteo.de", merge_fields={"FNAME": "N"}, tags=["Piano"]), member("exists@posteo.de"),
        member("fake@example.com"), member("not-an-address"), member("gone@posteo.de"),
        member("bad@posteo.de", merge_fields={"NOPE": "x"}), member("nostatus@posteo.de", status=None),
    ]})
    assert (answer["total_created"], answer["total_updated"], answer["error_count"]) == (1, 0, 6)
    new = answer["new_members"][0]
    assert (new["email_address"], new["merge_fields"]["FNAME"], [t["name"] for t in new["tags"]]) == (
        "new@posteo.de", "N", ["Piano"])
    errors = by_email(answer["errors"])
    assert errors["exists@posteo.de"] == {"email_address": "exists@posteo.de", "error_code": "ERROR_CONTACT_EXISTS",
                                          "error": EXISTS.format("exists@posteo.de"), "field": "", "field_message": ""}
    assert errors["fake@example.com"]["error"] == "fake@example.com looks fake or invalid, please enter a real email address."
    assert errors["not-an-address"]["error"] == "Please provide a valid email address."
    assert errors["gone@posteo.de"]["error"].startswith("gone@posteo.de was permanently deleted")
    assert (errors["bad@posteo.de"]["error"], errors["bad@posteo.de"]["field"]) == ("Your merge fields were invalid.", "NOPE")
    assert errors["bad@posteo.de"]["field_message"] == "This merge field does not exist in this audience."
    assert errors["nostatus@posteo.de"]["field"] == "status"
    assert all(e["error_code"] == "ERROR_GENERIC" for k, e in errors.items() if k != "exists@posteo.de")
    assert sorted(m["email_address"] for m in sb.members()) == ["exists@posteo.de", "new@posteo.de"]


def test_update_existing_updates_data_status_and_adds_tags(sb, mc, aud):
    sb.seed_member("ana@posteo.de", "unsubscribed", unsubscribed_by="admin", tags=["Old"])
    answer = mc.lists.batch_list_members(aud, {"update_existing": True, "members": [
        member("ana@posteo.de", merge_fields={"LNAME": "Silva"}, tags=["New"])]})
    assert (answer["total_created"], answer["total_updated"], answer["errors"]) == (0, 1, [])
    updated = answer["updated_members"][0]
    assert (updated["status"], updated["merge_fields"]["LNAME"]) == ("subscribed", "Silva")
    assert [t["name"] for t in updated["tags"]] == ["Old", "New"]


def test_sync_tags_replaces_the_tags(sb, mc, aud):
    sb.seed_member("ana@posteo.de", tags=["Old", "Keep"])
    answer = mc.lists.batch_list_members(aud, {"update_existing": True, "sync_tags": True, "members": [
        member("ana@posteo.de", tags=["Keep", "New"])]})
    assert [t["name"] for t in answer["updated_members"][0]["tags"]] == ["Keep", "New"]


@pytest.mark.parametrize("state", [{"status": "unsubscribed", "unsubscribed_by": "contact"}, {"status": "cleaned"}])
def test_a_batch_never_resubscribes_a_self_unsubscribed_or_cleaned_member(sb, mc, aud, state):
    sb.seed_member("ana@posteo.de", **state)
    before = sb.member("ana@posteo.de")
    answer = mc.lists.batch_list_members(aud, {"update_existing": True, "members": [
        member("ana@posteo.de", merge_fields={"FNAME": "Changed"})]})
    assert answer["updated_members"] == [] and answer["errors"][0]["error_code"] == "ERROR_GENERIC"
    assert "compliance state" in answer["errors"][0]["error"]
    assert sb.member("ana@posteo.de") == before


def test_without_update_existing_nothing_about_existing_members_changes(sb, mc, aud):
    sb.seed_member("ana@posteo.de", "unsubscribed", unsubscribed_by="admin")
    before = sb.member("ana@posteo.de")
    answer = mc.lists.batch_list_members(aud, {"members": [member("ana@posteo.de", merge_fields={"FNAME": "X"})]})
    assert answer["errors"][0]["error_code"] == "ERROR_CONTACT_EXISTS"
    assert sb.member("ana@posteo.de") == before


def test_duplicates_in_one_request(sb, mc, aud):
    body = {"members": [member("ana@posteo.de", "pending"), member("ANA@posteo.de", "subscribed")]}
    answer = mc.lists.batch_list_members(aud, body)
    assert answer["total_created"] == 1 and answer["errors"][0]["email_address"] == "ANA@posteo.de"
    sb.reset()
    answer = mc.lists.batch_list_members(aud, body, skip_duplicate_check=True)
    assert (answer["total_created"], answer["error_count"]) == (1, 0)
    assert sb.member("ana@posteo.de")["status"] == "pending"  # the first occurrence wins


def test_batch_status_enum_is_the_writable_statuses(mc, aud):
    answer = mc.lists.batch_list_members(aud, {"members": [member("ana@posteo.de", "archived"),
                                                           member("ben@posteo.de", "transactional")]})
    assert answer["errors"][0]["field"] == "status" and answer["new_members"][0]["status"] == "transactional"


def test_at_most_500_members(mc, aud):
    members = [member(f"p{i}@posteo.de") for i in range(501)]
    code, problem = refused(mc.lists.batch_list_members, aud, {"members": members})
    assert (code, problem["title"], problem["errors"][0]["field"]) == (400, "Invalid Resource", "members")
    assert mc.lists.batch_list_members(aud, {"members": members[:500]})["total_created"] == 500


@pytest.mark.parametrize("body, field", [({}, "members"), ({"members": {}}, "members"),
                                         ({"members": [], "update_existing": "yes"}, "update_existing")])
def test_malformed_batch_body_is_invalid_resource(mc, aud, body, field):
    code, problem = refused(mc.lists.batch_list_members, aud, body)
    assert (code, problem["title"], problem["errors"][0]["field"]) == (400, "Invalid Resource", field)


def test_every_member_failing_is_still_200(mc, aud):
    answer = mc.lists.batch_list_members(aud, {"members": [member("a@example.com"), member("b@test.de")]})
    assert (answer["total_created"], answer["error_count"]) == (0, 2)


@pytest.mark.mailchimp_sandbox(per_member_ms=20)
def test_per_member_latency(mc, aud):
    started = time.monotonic()
    mc.lists.batch_list_members(aud, {"members": [member(f"p{i}@posteo.de") for i in range(10)]})
    assert time.monotonic() - started >= 0.2


def test_fields_trim_the_answer_but_not_what_is_stored(sb, mc, aud):
    sb.seed_member("ana@posteo.de", tags=["Old"])
    body = {"update_existing": True, "members": [member("new@posteo.de", merge_fields={"FNAME": "N"}),
                                                 member("ana@posteo.de", tags=["New"])]}
    answer = mc.api_client.call_api(
        "/lists/{list_id}", "POST", path_params={"list_id": aud}, body=body,
        query_params={"fields": "new_members.email_address,updated_members.tags.name,total_created"})
    assert answer == {"new_members": [{"email_address": "new@posteo.de"}],
                      "updated_members": [{"tags": [{"name": "Old"}, {"name": "New"}]}], "total_created": 1}
    stored = by_email(sb.members())
    assert stored["new@posteo.de"]["merge_fields"]["FNAME"] == "N" and stored["new@posteo.de"]["status"] == "subscribed"
