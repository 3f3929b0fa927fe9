"""Batch operations (``/batches``): asynchronous, pending → started → finished, results as a gzipped tar."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest
import requests

from opus1_mailchimp.testing import finished, refused


def results(batch: dict) -> tuple[list[str], list[dict]]:
    """The archive's entry names and its results (downloaded without credentials, like a pre-signed URL)."""
    response = requests.get(batch["response_body_url"], timeout=5)
    assert response.status_code == 200
    names, rows = [], []
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as tar:
        for entry in tar:
            names.append(entry.name)
            if entry.isfile():
                assert entry.name.endswith(".json")
                rows += json.load(tar.extractfile(entry))
    return names, rows


def test_operations_run_in_the_background_and_results_come_as_tar_gz(sb, mc, aud):
    sb.seed_member("ana@posteo.de", "pending")
    ben = hashlib.md5(b"ben@posteo.de").hexdigest()
    sb.seed_member("ben@posteo.de")
    operations = [
        {"method": "PATCH", "path": f"/lists/{aud}/members/ben@posteo.de", "operation_id": "patch",
         "body": json.dumps({"merge_fields": {"FNAME": "Ben"}})},
        {"method": "POST", "path": f"/lists/{aud}/members/{ben}/tags", "operation_id": "tags",
         "body": json.dumps({"tags": [{"name": "Leaver", "status": "active"}]})},
        {"method": "DELETE", "path": f"/lists/{aud}/members/ana@posteo.de", "operation_id": "archive-pending"},
        {"method": "GET", "path": f"/lists/{aud}/members", "operation_id": "page", "params": {"count": 1}},
        {"method": "GET", "path": "/lists/nope/members", "operation_id": "bad-list"},
    ]
    batch = mc.batches.start({"operations": operations})
    assert (batch["status"], batch["total_operations"], batch["finished_operations"]) == ("pending", 5, 0)
    assert batch["completed_at"] == "" and batch["response_body_url"] == ""
    done = finished(mc, batch["id"])
    assert (done["finished_operations"], done["errored_operations"]) == (5, 2) and done["completed_at"]
    names, rows = results(done)
    assert names[0] == "." and len(names) == 2  # tarfile reads the "./" entry as "."
    by_id = {r["operation_id"]: r for r in rows}
    assert by_id["patch"]["status_code"] == 200 and json.loads(by_id["patch"]["response"])["merge_fields"]["FNAME"] == "Ben"
    assert (by_id["tags"]["status_code"], by_id["tags"]["response"]) == (204, "")
    assert by_id["archive-pending"]["status_code"] == 405
    assert json.loads(by_id["archive-pending"]["response"])["title"] == "Method Not Allowed"
    page = json.loads(by_id["page"]["response"])
    assert (len(page["members"]), page["total_items"]) == (1, 2)
    assert json.loads(by_id["bad-list"]["response"])["title"] == "Resource Not Found"
    assert [t["name"] for t in sb.member("ben@posteo.de")["tags"]] == ["Leaver"]


@pytest.mark.mailchimp_sandbox(per_member_ms=100)
def test_status_moves_pending_started_finished(mc):
    batch = mc.batches.start({"operations": [{"method": "GET", "path": "/ping"}] * 5})
    seen = [batch["status"]]
    progress = []
    while seen[-1] != "finished":
        current = mc.batches.status(batch["id"])
        if current["status"] != seen[-1]:
            seen.append(current["status"])
        progress.append(current["finished_operations"])
    assert seen == ["pending", "started", "finished"]
    assert progress == sorted(progress) and progress[-1] == 5 and 0 < min(p for p in progress if p) < 5


def test_more_than_500_results_are_split_into_several_files(sb, mc):
    batch = mc.batches.start({"operations": [{"method": "GET", "path": "/ping", "operation_id": str(i)}
                                             for i in range(501)]})
    names, rows = results(finished(mc, batch["id"]))
    assert len(names) == 3 and sorted(int(r["operation_id"]) for r in rows) == list(range(501))


def test_batches_are_listed_and_deleted(sb, mc):
    first = mc.batches.start({"operations": [{"method": "GET", "path": "/ping"}]})
    second = mc.batches.start({"operations": []})
    listed = mc.batches.list()
    assert [b["id"] for b in listed["batches"]] == [first["id"], second["id"]] and listed["total_items"] == 2
    done = finished(mc, second["id"])
    assert results(done)[1] == []
    assert mc.batches.delete_request(second["id"]).status_code == 204
    assert refused(mc.batches.status, second["id"])[0] == 404
    assert requests.get(done["response_body_url"], timeout=5).status_code == 404
    assert refused(mc.batches.delete_request, "nope")[0] == 404


@pytest.mark.parametrize("body, field", [
    ({}, "operations"),
    ({"operations": [{"method": "FETCH", "path": "/ping"}]}, "operations.item:0.method"),
    ({"operations": [{"method": "GET"}]}, "operations.item:0.path"),
    ({"operations": [{"method": "POST", "path": "/x", "body": {"not": "a string"}}]}, "operations.item:0.body"),
])
def test_malformed_batches_are_refused(mc, body, field):
    code, problem = refused(mc.batches.start, body)
    assert (code, problem["title"], problem["errors"][0]["field"]) == (400, "Invalid Resource", field)
