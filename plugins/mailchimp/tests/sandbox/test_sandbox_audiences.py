"""Several audiences in one sandbox (one account, one key): every list endpoint serves only its own list."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests

from opus1_mailchimp.sandbox import Sandbox
from opus1_mailchimp.testing import finished, refused, sdk_client

SECOND = "b2c3d4e5f6"


def h(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


def emails(page: dict) -> list[str]:
    return [m["email_address"] for m in page["members"]]


@pytest.mark.mailchimp_sandbox(audiences=[{"id": SECOND, "name": "Second Studio", "merge_fields": ["FNAME", "AGE"]},
                                          "c3d4e5f6a7"])
def test_the_audiences_option_adds_lists_with_their_own_members_and_merge_fields(sb, mc, aud):
    assert sb.audiences() == [{"id": aud, "name": "Example Music School"}, {"id": SECOND, "name": "Second Studio"},
                              {"id": "c3d4e5f6a7", "name": "c3d4e5f6a7"}]
    first = mc.lists.set_list_member(aud, h("ana@posteo.de"), {"email_address": "ana@posteo.de",
                                                                "status_if_new": "subscribed"})
    second = mc.lists.set_list_member(SECOND, h("ana@posteo.de"), {
        "email_address": "ana@posteo.de", "status_if_new": "pending", "merge_fields": {"AGE": "41"}})
    assert (first["list_id"], second["list_id"]) == (aud, SECOND)
    assert first["id"] == second["id"] and first["contact_id"] != second["contact_id"]  # two contacts, one address
    assert second["merge_fields"] == {"FNAME": "", "AGE": "41"} and second["status"] == "pending"
    assert second["_links"][0]["href"].endswith(f"/lists/{SECOND}/members/{h('ana@posteo.de')}")
    assert [f["tag"] for f in mc.lists.get_list_merge_fields(SECOND)["merge_fields"]] == ["FNAME", "AGE"]
    assert refused(mc.lists.update_list_member, aud, h("ana@posteo.de"), {"merge_fields": {"AGE": "9"}})[0] == 400
    assert mc.lists.get_list(SECOND)["name"] == "Second Studio"
    assert (mc.lists.get_list(aud)["stats"]["member_count"], mc.lists.get_list(SECOND)["stats"]["member_count"]) == (1, 0)
    assert mc.lists.get_list_members_info("c3d4e5f6a7")["total_items"] == 0
    assert [m["list_id"] for m in sb.members(SECOND)] == [SECOND] and sb.member("ana@posteo.de")["list_id"] == aud


def test_an_audience_added_while_running_is_scoped_on_every_list_endpoint(sb, mc, aud):
    sb.add_audience(SECOND, "Second Studio")
    for list_id in (aud, SECOND):
        sb.seed_member("ana@posteo.de", audience_id=list_id, tags=[list_id])
    sb.seed_member("ben@posteo.de", "unsubscribed", audience_id=SECOND)

    mc.lists.update_list_member(SECOND, "ana@posteo.de", {"merge_fields": {"FNAME": "Ana"}})
    mc.lists.update_list_member_tags(SECOND, h("ana@posteo.de"), {"tags": [{"name": "Violin", "status": "active"}]})
    answer = mc.lists.batch_list_members(SECOND, {"update_existing": True, "members": [
        {"email_address": "cleo@posteo.de", "status": "subscribed"},
        {"email_address": "ben@posteo.de", "status": "subscribed"}]})  # a contact's own unsubscribe: refused
    assert answer["total_created"] == 1 and answer["errors"][0]["email_address"] == "ben@posteo.de"

    assert sb.member("ana@posteo.de")["merge_fields"]["FNAME"] == ""
    assert [t["name"] for t in sb.member("ana@posteo.de")["tags"]] == [aud]
    assert [t["name"] for t in mc.lists.get_list_member_tags(SECOND, h("ana@posteo.de"))["tags"]] == [SECOND, "Violin"]
    assert emails(mc.lists.get_list_members_info(aud)) == ["ana@posteo.de"]
    assert emails(mc.lists.get_list_members_info(SECOND)) == ["ana@posteo.de", "ben@posteo.de", "cleo@posteo.de"]
    stats = mc.lists.get_list(SECOND, include_total_contacts=True)["stats"]
    assert (stats["member_count"], stats["unsubscribe_count"], stats["total_contacts"]) == (2, 1, 3)
    assert mc.root.get_root()["total_subscribers"] == 3

    mc.lists.delete_list_member(SECOND, h("ana@posteo.de"))
    mc.lists.delete_list_member_permanent(SECOND, h("cleo@posteo.de"))
    assert sb.member("ana@posteo.de", SECOND)["status"] == "archived" and sb.member("ana@posteo.de")["status"] == "subscribed"
    code, problem = refused(mc.lists.add_list_member, SECOND, {"email_address": "cleo@posteo.de", "status": "subscribed"})
    assert problem["title"] == "Forgotten Email Not Subscribed"
    assert mc.lists.add_list_member(aud, {"email_address": "cleo@posteo.de", "status": "subscribed"})["list_id"] == aud


def test_batch_operations_reach_the_list_their_path_names(sb, mc, aud):
    sb.add_audience(SECOND)
    batch = mc.batches.start({"operations": [
        {"method": "PUT", "path": f"/lists/{SECOND}/members/{h('ana@posteo.de')}",
         "body": json.dumps({"email_address": "ana@posteo.de", "status_if_new": "subscribed"})},
        {"method": "GET", "path": "/lists/nope/members", "operation_id": "unknown"},
    ]})
    done = finished(mc, batch["id"])
    assert (done["finished_operations"], done["errored_operations"]) == (2, 1)
    assert [m["email_address"] for m in sb.members(SECOND)] == ["ana@posteo.de"] and sb.members() == []


@pytest.mark.parametrize("method, path, body", [
    ("GET", "", None), ("POST", "", {"members": []}), ("GET", "/merge-fields", None), ("GET", "/members", None),
    ("POST", "/members", {"email_address": "ana@posteo.de", "status": "subscribed"}),
    ("GET", "/members/ana@posteo.de", None),
    ("PUT", "/members/ana@posteo.de", {"email_address": "ana@posteo.de", "status_if_new": "subscribed"}),
    ("PATCH", "/members/ana@posteo.de", {"vip": True}), ("DELETE", "/members/ana@posteo.de", None),
    ("GET", f"/members/{h('ana@posteo.de')}/tags", None), ("POST", f"/members/{h('ana@posteo.de')}/tags", {"tags": []}),
    ("POST", f"/members/{h('ana@posteo.de')}/actions/delete-permanent", None),
])
def test_an_unknown_list_is_mailchimps_404_on_every_list_endpoint(sb, method, path, body):
    sb.seed_member("ana@posteo.de")
    r = requests.request(method, f"{sb.base_url}/lists/{SECOND}{path}", auth=("u", sb.api_key), timeout=5,
                         data=None if body is None else json.dumps(body))
    assert (r.status_code, r.headers["Content-Type"]) == (404, "application/problem+json; charset=utf-8")
    assert (r.json()["title"], r.json()["detail"]) == ("Resource Not Found", "The requested resource could not be found.")
    assert sb.member("ana@posteo.de")["status"] == "subscribed"


def test_audience_ids_must_be_new_and_usable_in_a_path(sb, aud):
    for bad in (aud, "", "a/b", "x" * 101, "list id"):
        with pytest.raises(ValueError):
            sb.add_audience(bad)
    with pytest.raises(ValueError, match="no audience"):
        sb.seed_member("ana@posteo.de", audience_id="nope")
    with pytest.raises(ValueError):
        Sandbox(audiences=[Sandbox().audience_id])


def test_audiences_over_the_control_surface(sb, aud):
    control = f"{sb.root_url}/_sandbox"
    added = requests.post(f"{control}/audiences", timeout=5, data=json.dumps(
        [{"id": SECOND, "name": "Second Studio", "merge_fields": ["FNAME", {"tag": "AGE", "type": "number"}]},
         {"id": "c3d4e5f6a7"}]))
    assert added.status_code == 200 and [a["id"] for a in added.json()["audiences"]] == [aud, SECOND, "c3d4e5f6a7"]
    assert requests.get(f"{control}/audiences", timeout=5).json() == added.json()
    assert requests.post(f"{control}/audiences", data=json.dumps({"id": SECOND}), timeout=5).status_code == 400
    assert requests.post(f"{control}/audiences", data=json.dumps({"id": "x", "colour": 1}), timeout=5).status_code == 400
    seeded = requests.post(f"{control}/members", timeout=5, data=json.dumps(
        {"email": "ana@posteo.de", "merge_fields": {"AGE": 41}, "audience_id": SECOND}))
    assert seeded.json()["members"][0]["list_id"] == SECOND
    listed = requests.get(f"{control}/members", params={"audience_id": SECOND}, timeout=5).json()["members"]
    assert [(m["email_address"], m["merge_fields"]["AGE"]) for m in listed] == [("ana@posteo.de", 41)]
    assert requests.get(f"{control}/members/ana@posteo.de", params={"audience_id": SECOND}, timeout=5).status_code == 200
    assert requests.get(f"{control}/members/ana@posteo.de", timeout=5).status_code == 404
    assert requests.get(f"{control}/members", params={"audience_id": "nope"}, timeout=5).status_code == 400
    assert requests.post(f"{control}/reset", timeout=5).status_code == 204
    assert sb.members(SECOND) == [] and len(sb.audiences()) == 3  # reset empties audiences, keeps them


def test_added_audiences_survive_a_restart(tmp_path):
    path = tmp_path / "sandbox.json"
    with Sandbox(state_file=path) as sb:
        sb.add_audience(SECOND, "Second Studio", merge_fields=["FNAME", "AGE"])
        ana = sdk_client(sb).lists.add_list_member(SECOND, {"email_address": "ana@posteo.de", "status": "subscribed",
                                                            "merge_fields": {"AGE": "41"}})
    with Sandbox(state_file=path) as again:
        assert again.audiences()[1] == {"id": SECOND, "name": "Second Studio"}
        assert sdk_client(again).lists.get_list_member(SECOND, ana["id"])["merge_fields"] == {"FNAME": "", "AGE": "41"}


def test_a_version_1_state_file_fills_the_default_audience(tmp_path):
    path = tmp_path / "sandbox.json"
    member = Sandbox().seed_member("ana@posteo.de")
    stored = {**{k: v for k, v in member.items() if k in (
        "id", "email_address", "unique_email_id", "contact_id", "web_id", "email_type", "status", "interests",
        "language", "vip", "ip_signup", "timestamp_signup", "ip_opt", "timestamp_opt", "last_changed", "source")},
        "compliance": False, "merge_fields": {}, "location": {"latitude": 0, "longitude": 0}, "tags": {}}
    path.write_text(json.dumps({"version": 1, "members": [stored], "forgotten": [], "tag_ids": {},
                                "next_web_id": 100002, "last_sub_date": "", "last_unsub_date": ""}))
    with Sandbox(state_file=path) as sb:
        assert sb.member("ana@posteo.de") == {**member, "_links": sb.member("ana@posteo.de")["_links"]}
        assert sb.seed_member("ben@posteo.de")["web_id"] == 100002


def test_one_sandbox_holds_a_fleet_of_audiences():
    with Sandbox(audiences=[f"aud{i:07d}" for i in range(500)]) as sb:
        mc = sdk_client(sb)
        for i in (0, 250, 499):
            mc.lists.add_list_member(f"aud{i:07d}", {"email_address": f"parent{i}@gmail.com", "status": "subscribed"})
        assert [mc.lists.get_list_members_info(f"aud{i:07d}")["total_items"] for i in (0, 1, 250, 499)] == [1, 0, 1, 1]
        assert mc.root.get_root()["total_subscribers"] == 3
