"""Single-member endpoints against the behaviour table (reference §12) and the rules around it."""

from __future__ import annotations

import hashlib
import re

import pytest

from opus1_mailchimp.testing import refused

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def h(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


def put(mc, aud, email, **body):
    return mc.lists.set_list_member(aud, h(email), {"email_address": email, **body})


# ---------------------------------------------------------------- shape


def test_member_id_is_md5_of_lowercased_address_and_shape_matches_recordings(mc, aud):
    m = put(mc, aud, "Urist.McVankab@freddiesjokes.com", status_if_new="subscribed", merge_fields={"FNAME": "Urist"})
    assert m["id"] == "62eeb292278cc15f5817cb78f7790b08"
    assert m["email_address"] == "Urist.McVankab@freddiesjokes.com"
    assert m["merge_fields"] == {"FNAME": "Urist", "LNAME": "", "PHONE": ""}
    assert re.fullmatch(r"[0-9a-f]{10}", m["unique_email_id"]) and re.fullmatch(r"[0-9a-f]{32}", m["contact_id"])
    assert TS.match(m["last_changed"]) and TS.match(m["timestamp_opt"]) and m["timestamp_signup"] == ""
    assert m["list_id"] == aud and m["status"] == "subscribed" and m["tags"] == [] and m["tags_count"] == 0
    assert mc.lists.get_list_member(aud, m["id"]) == m


def test_surrounding_whitespace_is_stripped(mc, aud):
    m = put(mc, aud, "  lena@posteo.de ", status_if_new="subscribed")
    assert m["email_address"] == "lena@posteo.de"


# ---------------------------------------------------------------- PUT (upsert)


def test_put_creates_with_status_if_new_and_applies_body_tags(mc, aud):
    m = put(mc, aud, "new@posteo.de", status_if_new="pending", tags=["Piano", "Parents"])
    assert m["status"] == "pending"
    assert sorted(t["name"] for t in m["tags"]) == ["Parents", "Piano"] and m["tags_count"] == 2


def test_put_without_status_if_new_or_status_is_invalid(mc, aud):
    status, problem = refused(put, mc, aud, "new@posteo.de", merge_fields={"FNAME": "A"})
    assert (status, problem["title"]) == (400, "Invalid Resource")
    assert problem["errors"][0]["field"] == "status_if_new"


def test_put_on_subscribed_updates_fields_but_ignores_body_tags_and_status_if_new(sb, mc, aud):
    sb.seed_member("ana@posteo.de", tags=["Old"])
    m = put(mc, aud, "ana@posteo.de", status_if_new="unsubscribed", merge_fields={"FNAME": "Ana"}, tags=["New"])
    assert m["status"] == "subscribed"
    assert m["merge_fields"]["FNAME"] == "Ana"
    assert [t["name"] for t in m["tags"]] == ["Old"]


def test_put_status_changes_an_existing_member(sb, mc, aud):
    sb.seed_member("ana@posteo.de")
    assert put(mc, aud, "ana@posteo.de", status_if_new="subscribed", status="unsubscribed")["status"] == "unsubscribed"


def test_put_status_subscribed_resubscribes_an_admin_unsubscribe(sb, mc, aud):
    sb.seed_member("ana@posteo.de", "unsubscribed", unsubscribed_by="admin")
    assert put(mc, aud, "ana@posteo.de", status_if_new="subscribed", status="subscribed")["status"] == "subscribed"


@pytest.mark.parametrize("state", [{"status": "unsubscribed", "unsubscribed_by": "contact"}, {"status": "cleaned"}])
def test_put_status_subscribed_refused_for_self_unsubscribed_or_cleaned(sb, mc, aud, state):
    sb.seed_member("ana@posteo.de", **state)
    status, problem = refused(put, mc, aud, "ana@posteo.de", status_if_new="subscribed", status="subscribed")
    assert (status, problem["title"]) == (400, "Member In Compliance State")
    assert problem["detail"] == ("ana@posteo.de is in a compliance state due to unsubscribe, bounce, or compliance "
                                 "review and cannot be subscribed.")
    assert sb.member("ana@posteo.de")["status"] == state["status"]


def test_api_unsubscribe_then_resubscribe_is_allowed(sb, mc, aud):
    sb.seed_member("ana@posteo.de")
    put(mc, aud, "ana@posteo.de", status="unsubscribed")
    assert put(mc, aud, "ana@posteo.de", status="subscribed")["status"] == "subscribed"


@pytest.mark.parametrize("by", ["contact", "admin"])
def test_put_status_if_new_only_leaves_unsubscribed_but_updates_merge_fields(sb, mc, aud, by):
    sb.seed_member("ana@posteo.de", "unsubscribed", unsubscribed_by=by)
    m = put(mc, aud, "ana@posteo.de", status_if_new="subscribed", merge_fields={"LNAME": "Silva"})
    assert m["status"] == "unsubscribed" and m["merge_fields"]["LNAME"] == "Silva"


@pytest.mark.parametrize("state", [{"status": "unsubscribed", "unsubscribed_by": "contact"},
                                   {"status": "unsubscribed", "unsubscribed_by": "admin"}, {"status": "cleaned"}])
def test_put_status_pending_is_allowed_and_does_not_lift_the_compliance_state(sb, mc, aud, state):
    sb.seed_member("ana@posteo.de", **state)
    assert put(mc, aud, "ana@posteo.de", status="pending")["status"] == "pending"
    if state.get("unsubscribed_by") != "admin":
        status, problem = refused(put, mc, aud, "ana@posteo.de", status="subscribed")
        assert problem["title"] == "Member In Compliance State"


def test_archived_stays_archived_with_status_if_new_only(sb, mc, aud):
    sb.seed_member("ana@posteo.de", "archived")
    m = put(mc, aud, "ana@posteo.de", status_if_new="subscribed", merge_fields={"FNAME": "Ana"})
    assert m["status"] == "archived" and m["merge_fields"]["FNAME"] == "Ana"


def test_archived_is_unarchived_by_status(sb, mc, aud):
    sb.seed_member("ana@posteo.de", "archived")
    assert put(mc, aud, "ana@posteo.de", status_if_new="subscribed", status="subscribed")["status"] == "subscribed"


def test_put_with_a_hash_that_does_not_match_an_existing_address_is_member_exists(sb, mc, aud):
    sb.seed_member("ana.silva@posteo.de")
    wrong = hashlib.md5(b"Ana.Silva@posteo.de").hexdigest()  # not lower-cased
    status, problem = refused(mc.lists.set_list_member, aud, wrong,
                              {"email_address": "Ana.Silva@posteo.de", "status_if_new": "subscribed"})
    assert (status, problem["title"]) == (400, "Member Exists")
    assert problem["detail"] == ("Ana.Silva@posteo.de is already a list member. Use PUT to insert or update list "
                                 "members.")
    assert refused(mc.lists.get_list_member, aud, wrong)[0] == 404


def test_put_status_values_are_validated(mc, aud):
    status, problem = refused(put, mc, aud, "ana@posteo.de", status_if_new="archived")
    assert (status, problem["title"], problem["errors"][0]["field"]) == (400, "Invalid Resource", "status_if_new")


# ---------------------------------------------------------------- POST (create only)


def test_post_creates_with_tags(mc, aud):
    m = mc.lists.add_list_member(aud, {"email_address": "ana@posteo.de", "status": "subscribed", "tags": ["A"]})
    assert m["status"] == "subscribed" and [t["name"] for t in m["tags"]] == ["A"]


@pytest.mark.parametrize("status", ["subscribed", "unsubscribed", "pending", "archived", "transactional"])
def test_post_on_any_existing_member_is_member_exists(sb, mc, aud, status):
    sb.seed_member("Ana@posteo.de", status, unsubscribed_by="admin")
    code, problem = refused(mc.lists.add_list_member, aud, {"email_address": "ana@posteo.de", "status": "pending"})
    assert (code, problem["title"]) == (400, "Member Exists")


def test_post_subscribed_on_cleaned_is_compliance_state(sb, mc, aud):
    sb.seed_member("ana@posteo.de", "cleaned")
    code, problem = refused(mc.lists.add_list_member, aud, {"email_address": "ana@posteo.de", "status": "subscribed"})
    assert (code, problem["title"]) == (400, "Member In Compliance State")


def test_post_needs_a_status(mc, aud):
    code, problem = refused(mc.lists.add_list_member, aud, {"email_address": "ana@posteo.de"})
    assert (code, problem["title"], problem["errors"][0]["field"]) == (400, "Invalid Resource", "status")


# ---------------------------------------------------------------- addresses Mailchimp refuses


@pytest.mark.parametrize("email", ["jo@example.com", "jo@mail.example.org", "jo@example.net", "jo@test.com",
                                   "jo@test.de", "jo@mailinator.com", "jo@yopmail.com", "jo@school.test"])
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_fake_looking_addresses_are_refused(sb, mc, aud, email, method):
    if method == "PUT":
        code, problem = refused(put, mc, aud, email, status_if_new="subscribed")
    else:
        code, problem = refused(mc.lists.add_list_member, aud, {"email_address": email, "status": "subscribed"})
    assert (code, problem["title"]) == (400, "Invalid Resource")
    assert problem["detail"] == f"{email} looks fake or invalid, please enter a real email address."
    assert sb.members() == []


@pytest.mark.parametrize("email", ["no-at-sign.posteo.de", "two@@posteo.de", "a b@posteo.de", "ana@posteo",
                                   "ana@.posteo.de", ".ana@posteo.de"])
def test_malformed_addresses_are_refused(mc, aud, email):
    code, problem = refused(mc.lists.add_list_member, aud, {"email_address": email, "status": "subscribed"})
    assert (code, problem["title"], problem["detail"]) == (400, "Invalid Resource", "Please provide a valid email address.")


@pytest.mark.parametrize("status", ["subscribed", "pending", "unsubscribed"])
def test_permanently_deleted_addresses_cannot_be_added_again(sb, mc, aud, status):
    sb.seed_member("gone@posteo.de", forgotten=True)
    detail = ("gone@posteo.de was permanently deleted and cannot be re-imported. The contact must re-subscribe to get "
              "back on the list.")
    for call in (lambda: put(mc, aud, "gone@posteo.de", status_if_new=status, status=status),
                 lambda: mc.lists.add_list_member(aud, {"email_address": "gone@posteo.de", "status": status})):
        code, problem = refused(call)
        assert (code, problem["title"], problem["detail"]) == (400, "Forgotten Email Not Subscribed", detail)
    assert sb.member("gone@posteo.de") is None


# ---------------------------------------------------------------- merge fields


@pytest.mark.mailchimp_sandbox(merge_fields=("FNAME", "LNAME", {"tag": "LTV", "type": "number"},
                                             {"tag": "MMERGE5", "required": True}, "ADDRESS",
                                             {"tag": "GENDER", "type": "dropdown", "choices": ["m", "w"]}))
def test_merge_field_errors_are_listed(mc, aud):
    body = {"email_address": "ana@posteo.de", "status": "subscribed",
            "merge_fields": {"LTV": "lots", "ADDRESS": {"addr1": "Main St 1", "city": "Berlin"}, "GENDER": "z",
                             "NOPE": "x"}}
    code, problem = refused(mc.lists.add_list_member, aud, body)
    assert (code, problem["title"], problem["detail"]) == (400, "Invalid Resource", "Your merge fields were invalid.")
    assert {e["field"]: e["message"] for e in problem["errors"]} == {
        "LTV": "Please enter a number", "ADDRESS": "Please enter a complete address",
        "GENDER": "Value must be one of: m, w (not z)", "NOPE": "This merge field does not exist in this audience.",
        "MMERGE5": "Please enter a value"}


@pytest.mark.mailchimp_sandbox(merge_fields=("FNAME", {"tag": "MMERGE5", "required": True}, "ADDRESS"))
def test_skip_merge_validation_allows_missing_required_fields_and_addresses_are_normalised(mc, aud):
    body = {"email_address": "ana@posteo.de", "status": "subscribed",
            "merge_fields": {"ADDRESS": {"addr1": "Main St 1", "city": "Berlin", "state": "BE", "zip": "10115"}}}
    code, problem = refused(mc.lists.add_list_member, aud, body)
    assert problem["errors"] == [{"field": "MMERGE5", "message": "Please enter a value"}]
    m = mc.lists.add_list_member(aud, body, skip_merge_validation=True)
    assert m["merge_fields"]["MMERGE5"] == ""
    assert m["merge_fields"]["ADDRESS"] == {"addr1": "Main St 1", "addr2": "", "city": "Berlin", "state": "BE",
                                            "zip": "10115", "country": "US"}


def test_merge_field_values_must_be_strings_or_numbers(mc, aud):
    code, problem = refused(put, mc, aud, "ana@posteo.de", status_if_new="subscribed", merge_fields={"FNAME": True})
    assert problem["errors"] == [{"field": "merge_fields.FNAME",
                                  "message": "Data did not match any of the schemas described in anyOf."}]


# ---------------------------------------------------------------- PATCH


def test_patch_changes_fields_and_status(sb, mc, aud):
    sb.seed_member("ana@posteo.de")
    m = mc.lists.update_list_member(aud, h("ana@posteo.de"), {"status": "unsubscribed", "merge_fields": {"FNAME": "A"}})
    assert (m["status"], m["merge_fields"]["FNAME"]) == ("unsubscribed", "A")


def test_patch_missing_member_is_404(mc, aud):
    code, problem = refused(mc.lists.update_list_member, aud, h("nobody@posteo.de"), {"merge_fields": {"FNAME": "A"}})
    assert (code, problem["title"]) == (404, "Resource Not Found")


def test_patch_changes_the_address_and_so_the_id(sb, mc, aud):
    old = sb.seed_member("ana@posteo.de", tags=["Piano"], merge_fields={"FNAME": "Ana"})
    m = mc.lists.update_list_member(aud, h("ana@posteo.de"), {"email_address": "Ana.Silva@posteo.de"})
    assert (m["id"], m["email_address"]) == (h("ana.silva@posteo.de"), "Ana.Silva@posteo.de")
    assert (m["contact_id"], m["web_id"], m["tags"], m["merge_fields"]["FNAME"]) == (
        old["contact_id"], old["web_id"], old["tags"], "Ana")
    assert refused(mc.lists.get_list_member, aud, h("ana@posteo.de"))[0] == 404
    assert mc.lists.get_list_member(aud, h("ana.silva@posteo.de"))["contact_id"] == old["contact_id"]
    assert [x["email_address"] for x in sb.members()] == ["Ana.Silva@posteo.de"]


@pytest.mark.parametrize("target, title", [("taken@posteo.de", "Member Exists"),
                                           ("gone@posteo.de", "Forgotten Email Not Subscribed"),
                                           ("ana@example.com", "Invalid Resource")])
def test_patch_address_change_refused(sb, mc, aud, target, title):
    sb.seed_member("ana@posteo.de")
    sb.seed_member("taken@posteo.de", "archived")
    sb.seed_member("gone@posteo.de", forgotten=True)
    code, problem = refused(mc.lists.update_list_member, aud, h("ana@posteo.de"), {"email_address": target})
    assert (code, problem["title"]) == (400, title)
    assert sb.member("ana@posteo.de")["status"] == "subscribed"


def test_patch_status_enum_is_the_writable_statuses(sb, mc, aud):
    sb.seed_member("ana@posteo.de")
    code, problem = refused(mc.lists.update_list_member, aud, h("ana@posteo.de"), {"status": "archived"})
    assert (code, problem["errors"][0]["field"]) == (400, "status")


# ---------------------------------------------------------------- DELETE (archive)


@pytest.mark.parametrize("status", ["subscribed", "unsubscribed", "transactional"])
def test_delete_archives(sb, mc, aud, status):
    sb.seed_member("ana@posteo.de", status)
    response = mc.lists.delete_list_member(aud, h("ana@posteo.de"))
    assert (response.status_code, response.content) == (204, b"")
    assert mc.lists.get_list_member(aud, h("ana@posteo.de"))["status"] == "archived"


@pytest.mark.parametrize("status", ["pending", "cleaned", "archived"])
def test_delete_of_pending_cleaned_or_archived_is_405(sb, mc, aud, status):
    sb.seed_member("ana@posteo.de", status)
    code, problem = refused(mc.lists.delete_list_member, aud, h("ana@posteo.de"))
    assert (code, problem["title"]) == (405, "Method Not Allowed")
    assert problem["detail"] == ("This list member cannot be removed. Can not archive a contact that is bounced, "
                                 "pending or archived")
    assert sb.requests[-1].status == 405
    assert sb.member("ana@posteo.de")["status"] == status


def test_delete_405_carries_the_allow_header(sb, aud):
    import requests

    sb.seed_member("ana@posteo.de", "pending")
    r = requests.delete(f"{sb.base_url}/lists/{aud}/members/{h('ana@posteo.de')}", auth=("u", sb.api_key), timeout=5)
    assert (r.status_code, r.headers["Allow"]) == (405, "GET, PUT")


def test_delete_missing_member_is_404(mc, aud):
    assert refused(mc.lists.delete_list_member, aud, h("nobody@posteo.de"))[0] == 404


# ---------------------------------------------------------------- delete-permanent


def test_delete_permanent_erases_and_forbids_readding(sb, mc, aud):
    sb.seed_member("ana@posteo.de", "unsubscribed")
    response = mc.lists.delete_list_member_permanent(aud, h("ana@posteo.de"))
    assert (response.status_code, response.content) == (204, b"")
    assert refused(mc.lists.get_list_member, aud, h("ana@posteo.de"))[0] == 404
    assert sb.member("ana@posteo.de") is None and sb.members() == []
    code, problem = refused(put, mc, aud, "ana@posteo.de", status_if_new="pending")
    assert problem["title"] == "Forgotten Email Not Subscribed"
    assert refused(mc.lists.delete_list_member_permanent, aud, h("ana@posteo.de"))[0] == 404


def test_delete_permanent_needs_the_hash_not_the_address(sb, mc, aud):
    sb.seed_member("ana@posteo.de")
    assert refused(mc.lists.delete_list_member_permanent, aud, "ana@posteo.de")[0] == 404
    assert sb.member("ana@posteo.de") is not None


# ---------------------------------------------------------------- tags


def test_tags_are_added_and_removed(sb, mc, aud):
    sb.seed_member("ana@posteo.de", tags=["Old", "Keep"])
    body = {"tags": [{"name": "New", "status": "active"}, {"name": "Old", "status": "inactive"}], "is_syncing": True}
    response = mc.lists.update_list_member_tags(aud, h("ana@posteo.de"), body)
    assert (response.status_code, response.content) == (204, b"")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert [t["name"] for t in sb.member("ana@posteo.de")["tags"]] == ["Keep", "New"]
    listed = mc.lists.get_list_member_tags(aud, h("ana@posteo.de"))
    assert [t["name"] for t in listed["tags"]] == ["Keep", "New"] and listed["total_items"] == 2
    assert all(TS.match(t["date_added"]) and isinstance(t["id"], int) for t in listed["tags"])


@pytest.mark.parametrize("body", [{"name": "X", "status": "active"}, {"tags": "X"}, {"tags": [{"name": "X"}]}, [1]])
def test_malformed_tags_body_is_a_silent_no_op(sb, mc, aud, body):
    sb.seed_member("ana@posteo.de", tags=["Keep"])
    before = sb.member("ana@posteo.de")
    assert mc.lists.update_list_member_tags(aud, h("ana@posteo.de"), body).status_code == 204
    assert sb.member("ana@posteo.de") == before


def test_tags_on_a_missing_member_is_404(mc, aud):
    body = {"tags": [{"name": "X", "status": "active"}]}
    code, problem = refused(mc.lists.update_list_member_tags, aud, h("nobody@posteo.de"), body)
    assert (code, problem["title"]) == (404, "Resource Not Found")


def test_only_the_first_50_tags_are_in_the_member(sb, mc, aud):
    sb.seed_member("ana@posteo.de", tags=[f"T{i:02}" for i in range(60)])
    m = mc.lists.get_list_member(aud, h("ana@posteo.de"))
    assert (len(m["tags"]), m["tags_count"]) == (50, 60)
    assert mc.lists.get_list_member_tags(aud, h("ana@posteo.de"), count=20, offset=50)["tags"][-1]["name"] == "T59"


# ---------------------------------------------------------------- addressing and last_changed


def test_the_path_segment_may_be_the_address_or_the_contact_id(sb, mc, aud):
    seeded = sb.seed_member("Ana@posteo.de")
    assert mc.lists.get_list_member(aud, "ana@posteo.de")["id"] == seeded["id"]
    assert mc.lists.get_list_member(aud, seeded["contact_id"])["id"] == seeded["id"]
    assert mc.lists.update_list_member(aud, "ana@posteo.de", {"merge_fields": {"FNAME": "A"}})["merge_fields"]["FNAME"] == "A"
    assert mc.lists.set_list_member(aud, "ana@posteo.de", {"status": "pending"})["status"] == "pending"


def test_unknown_list_is_404_everywhere(sb, mc):
    sb.seed_member("ana@posteo.de")
    for call, args in [(mc.lists.get_list, ()), (mc.lists.get_list_members_info, ()),
                       (mc.lists.get_list_member, (h("ana@posteo.de"),)),
                       (mc.lists.add_list_member, ({"email_address": "b@posteo.de", "status": "subscribed"},)),
                       (mc.lists.batch_list_members, ({"members": []},)), (mc.lists.get_list_merge_fields, ())]:
        code, problem = refused(call, "0000000000", *args)
        assert (code, problem["title"], problem["detail"]) == (404, "Resource Not Found",
                                                               "The requested resource could not be found.")


def test_last_changed_moves_on_every_change_and_only_then(sb, mc, aud, clock):
    first = put(mc, aud, "ana@posteo.de", status_if_new="subscribed", merge_fields={"FNAME": "Ana"})["last_changed"]
    clock.advance(60)
    assert put(mc, aud, "ana@posteo.de", status_if_new="subscribed", merge_fields={"FNAME": "Ana"})["last_changed"] == first
    changes = [
        lambda: put(mc, aud, "ana@posteo.de", merge_fields={"FNAME": "Anna"}),
        lambda: mc.lists.update_list_member_tags(aud, h("ana@posteo.de"), {"tags": [{"name": "X", "status": "active"}]}),
        lambda: mc.lists.update_list_member(aud, h("ana@posteo.de"), {"status": "unsubscribed"}),
        lambda: mc.lists.delete_list_member(aud, h("ana@posteo.de")),
    ]
    seen = [first]
    for change in changes:
        clock.advance(60)
        change()
        seen.append(sb.member("ana@posteo.de")["last_changed"])
    assert seen == sorted(set(seen)) and len(seen) == 5


def test_put_creating_with_only_status_uses_it(mc, aud):
    assert put(mc, aud, "ana@posteo.de", status="unsubscribed")["status"] == "unsubscribed"


def test_put_with_another_address_on_an_existing_member_changes_it(sb, mc, aud):
    sb.seed_member("ana@posteo.de")
    m = mc.lists.set_list_member(aud, h("ana@posteo.de"), {"email_address": "ana.silva@posteo.de",
                                                            "status_if_new": "subscribed"})
    assert (m["id"], m["email_address"]) == (h("ana.silva@posteo.de"), "ana.silva@posteo.de")
    assert [x["email_address"] for x in sb.members()] == ["ana.silva@posteo.de"]


def test_archiving_keeps_the_compliance_state(sb, mc, aud):
    sb.seed_member("ana@posteo.de", "unsubscribed", unsubscribed_by="contact")
    mc.lists.delete_list_member(aud, h("ana@posteo.de"))
    code, problem = refused(put, mc, aud, "ana@posteo.de", status_if_new="subscribed", status="subscribed")
    assert problem["title"] == "Member In Compliance State"
    assert put(mc, aud, "ana@posteo.de", status="pending")["status"] == "pending"


def test_seeded_members_with_fake_looking_addresses_are_not_rechecked(sb, mc, aud):
    sb.seed_member("jo@example.com")
    m = put(mc, aud, "jo@example.com", status_if_new="subscribed", merge_fields={"FNAME": "Jo"})
    assert m["merge_fields"]["FNAME"] == "Jo"
