"""Every implemented operation answers with the shapes of the official spec (OpenAPI 3.0.76 conversion).

Validation is stricter than the spec: objects may not carry keys the spec does not declare. The known gaps
between 3.0.76 and what Mailchimp sends today are allowed explicitly, each with its source (reference §3.4, §4, §9):

* batch-subscribe ``errors[]`` items carry ``field`` and ``field_message`` (added July 2022) [S-codegen303];
* validation errors carry ``errors: [{"field", "message"}]`` (not in the problem schema)
  [S-grouparoo-export, S-pyhttp56];
* batch-subscribe ``new_members``/``updated_members`` are full member records (2026 recording) [S-hotglue-vcr];
* the merge-field collection carries ``merge_field_limit`` (recording) [S-hotglue-vcr];
* merge-field values are strings, numbers or address objects, in answers and requests (the spec says "object")
  [S-hotglue-vcr, S-grouparoo-export];
* unset timestamps are ``""`` (the spec says date-time) [S-hotglue-vcr, S-grouparoo-byid];
* batch-subscribe request members may carry ``tags`` (newer than 3.0.76) [S-hotglue-vcr] (request side);
* PATCH and batch-subscribe request bodies may set ``status: transactional``, as the current API definition allows
  (3.0.76 had it for POST and PUT only) [S-mc-ts-sdk, in docs/sandbox.md] (request side).

Set timestamps must look exactly like ``2026-06-03T21:30:56+00:00``.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import tarfile
from pathlib import Path

import pytest
import requests
from jsonschema import FormatChecker
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator

from opus1_mailchimp.sandbox import Sandbox
from opus1_mailchimp.testing import wait_for

SPEC_FILE = Path(__file__).parent.parent / "data" / "mailchimp-marketing-3.0.76.openapi3.json"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
L = "/lists/{list_id}"
M = L + "/members/{subscriber_hash}"
OPERATIONS = {  # operationId: (method, path template) of everything the sandbox implements
    "getRoot": ("GET", "/"), "getPing": ("GET", "/ping"),
    "getListsId": ("GET", L), "postListsId": ("POST", L), "getListsIdMergeFields": ("GET", L + "/merge-fields"),
    "getListsIdMembers": ("GET", L + "/members"), "postListsIdMembers": ("POST", L + "/members"),
    "getListsIdMembersId": ("GET", M), "putListsIdMembersId": ("PUT", M), "patchListsIdMembersId": ("PATCH", M),
    "deleteListsIdMembersId": ("DELETE", M), "getListMemberTags": ("GET", M + "/tags"),
    "postListMemberTags": ("POST", M + "/tags"),
    "postListsIdMembersHashActionsDeletePermanent": ("POST", M + "/actions/delete-permanent"),
    "getBatches": ("GET", "/batches"), "postBatches": ("POST", "/batches"),
    "getBatchesId": ("GET", "/batches/{batch_id}"), "deleteBatchesId": ("DELETE", "/batches/{batch_id}"),
}


def _h(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


def _strict(node) -> None:
    """Forbid undeclared keys in every object schema that declares properties (``properties: {}`` stays free-form)."""
    if isinstance(node, dict):
        if node.get("properties") and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _strict(value)
    elif isinstance(node, list):
        for value in node:
            _strict(value)


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads(SPEC_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schemas(spec) -> dict:
    """The spec's component schemas, made strict, with the known gaps allowed explicitly."""
    s = copy.deepcopy(spec["components"]["schemas"])
    _strict(s)
    s["Batch update List members_errors"]["properties"].update(field={"type": "string"},
                                                               field_message={"type": "string"})
    for key in ("new_members", "updated_members"):
        s["Batch update List members"]["properties"][key]["items"] = {"$ref": "#/components/schemas/List Members_2"}
    s["Collection of Merge Fields"]["properties"]["merge_field_limit"] = {"type": "integer"}
    s["Problem Detail Document"]["properties"]["errors"] = {"type": "array", "items": {
        "type": "object", "required": ["field", "message"], "additionalProperties": False,
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}
    value = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "object"}]}
    for name in ("List Members_2", "List Members_4", "Add List Members", "Add List Members_1", "Add List Members_2",
                 "Add List Members_3"):
        assert s[name]["properties"]["merge_fields"]["additionalProperties"]["type"] == "object"
        s[name]["properties"]["merge_fields"]["additionalProperties"] = value
    s["Add List Members"]["properties"]["tags"] = {"type": "array", "items": {"type": "string"}}
    for name in ("Add List Members", "Add List Members_3"):
        assert "transactional" not in s[name]["properties"]["status"]["enum"]
        s[name]["properties"]["status"]["enum"].append("transactional")
    return s


@pytest.fixture(scope="module")
def formats() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def date_time(value) -> bool:
        return not isinstance(value, str) or value == "" or bool(TIMESTAMP.match(value))

    return checker


def _validator(cls, schemas, formats, ref: str):
    return cls({"$ref": ref, "components": {"schemas": schemas}}, format_checker=formats)


def _errors(cls, schemas, formats, ref: str, instance) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in _validator(cls, schemas, formats, ref).iter_errors(instance)]


def _response_ref(spec, operation: str, status: int) -> str:
    method, path = OPERATIONS[operation]
    responses = spec["paths"][path][method.lower()]["responses"]
    entry = responses.get(str(status)) or responses["default"]
    return entry["content"]["application/json"]["schema"]["$ref"]


@pytest.fixture(scope="module")
def exchanges(tmp_path_factory):
    """Drive every implemented operation (successes and failures); returns {operationId: [(status, headers, body)]}."""
    seen: dict[str, list] = {op: [] for op in OPERATIONS}
    sent: list[tuple[str, object]] = []
    with Sandbox(merge_fields=("FNAME", "LNAME", "PHONE", "ADDRESS", {"tag": "AGE", "type": "number"})) as sb:
        aud = sb.audience_id
        auth = ("user", sb.api_key)

        def call(operation: str, path: str, body=None, *, malformed: bool = False, **query):
            method, _ = OPERATIONS[operation]
            if body is not None and not malformed:
                sent.append((operation, body))
            r = requests.request(method, sb.base_url + path, params=query, auth=auth, timeout=10,
                                 data=None if body is None else json.dumps(body))
            seen[operation].append((r.status_code, r.headers, r.json() if r.content else None))
            return r

        ana, ben, dora = _h("ana@posteo.de"), _h("ben@posteo.de"), _h("dora@posteo.de")
        call("getRoot", "/")
        call("getPing", "/ping")
        call("putListsIdMembersId", f"/lists/{aud}/members/{ana}", {
            "email_address": "ana@posteo.de", "status_if_new": "subscribed",
            "merge_fields": {"FNAME": "Ana", "AGE": 41, "ADDRESS": {"addr1": "Main St 1", "city": "Berlin",
                                                                    "state": "BE", "zip": "10115", "country": "DE"}}})
        for status in ("unsubscribed", "subscribed"):
            call("putListsIdMembersId", f"/lists/{aud}/members/{ana}",
                 {"email_address": "ana@posteo.de", "status_if_new": "subscribed", "status": status})
        call("putListsIdMembersId", f"/lists/{aud}/members/{ana}",
             {"email_address": "ana@test.com", "status_if_new": "subscribed"})  # fake-looking: 400
        call("postListsIdMembers", f"/lists/{aud}/members", {"email_address": "ben@posteo.de", "status": "pending",
                                                             "tags": ["Piano"]})
        call("postListsIdMembers", f"/lists/{aud}/members", {"email_address": "ben@posteo.de", "status": "pending"})
        call("patchListsIdMembersId", f"/lists/{aud}/members/{ben}", {"merge_fields": {"LNAME": "Bauer"},
                                                                      "vip": True, "language": "de"})
        call("patchListsIdMembersId", f"/lists/{aud}/members/{ben}", {"merge_fields": {"AGE": "old"}})
        call("postListsIdMembers", f"/lists/{aud}/members", {"email_address": "dora@posteo.de",
                                                             "status": "transactional"})
        call("patchListsIdMembersId", f"/lists/{aud}/members/{dora}", {"status": "unsubscribed"})
        call("getListsIdMembers", f"/lists/{aud}/members", status="unsubscribed")
        call("patchListsIdMembersId", f"/lists/{aud}/members/{dora}", {"status": "transactional"})
        call("getListsIdMembers", f"/lists/{aud}/members", status="transactional")
        call("postListMemberTags", f"/lists/{aud}/members/{ana}/tags",
             {"tags": [{"name": "Violin", "status": "active"}], "is_syncing": False})
        call("postListMemberTags", f"/lists/{aud}/members/{_h('x@posteo.de')}/tags", {"tags": []})
        call("getListMemberTags", f"/lists/{aud}/members/{ana}/tags")
        call("getListsIdMembersId", f"/lists/{aud}/members/{ana}")
        call("getListsIdMembersId", f"/lists/{aud}/members/{_h('x@posteo.de')}")
        call("postListsId", f"/lists/{aud}", {"update_existing": True, "sync_tags": False, "members": [
            {"email_address": "cleo@posteo.de", "status": "subscribed", "tags": ["Cello"]},
            {"email_address": "ana@posteo.de", "status": "subscribed", "merge_fields": {"LNAME": "Silva"}},
            {"email_address": "fake@example.com", "status": "subscribed"},
            {"email_address": "emil@posteo.de", "status": "transactional"},
            {"email_address": "dan@posteo.de", "status": "subscribed", "merge_fields": {"AGE": "x"}}]})
        call("postListsId", f"/lists/{aud}", {"members": "nope"}, malformed=True)
        call("getListsIdMembers", f"/lists/{aud}/members", count=2)
        call("getListsIdMembers", f"/lists/{aud}/members", status="pending", fields="members.email_address,total_items")
        call("getListsIdMembers", f"/lists/{aud}/members", count=5000)
        call("getListsId", f"/lists/{aud}", include_total_contacts="true")
        call("getListsId", "/lists/nope")
        call("getListsIdMergeFields", f"/lists/{aud}/merge-fields")
        call("deleteListsIdMembersId", f"/lists/{aud}/members/{_h('cleo@posteo.de')}")
        call("deleteListsIdMembersId", f"/lists/{aud}/members/{ben}")  # pending: 405
        erase = f"/lists/{aud}/members/{_h('cleo@posteo.de')}/actions/delete-permanent"
        call("postListsIdMembersHashActionsDeletePermanent", erase)
        call("postListsIdMembersHashActionsDeletePermanent", erase)  # 404 now
        batch = call("postBatches", "/batches", {"operations": [
            {"method": "PATCH", "path": f"/lists/{aud}/members/{ana}", "operation_id": "patchListsIdMembersId",
             "body": json.dumps({"merge_fields": {"FNAME": "Anna"}})},
            {"method": "GET", "path": f"/lists/{aud}/members", "operation_id": "getListsIdMembers",
             "params": {"count": 1}},
            {"method": "DELETE", "path": f"/lists/{aud}/members/{ben}", "operation_id": "deleteListsIdMembersId"},
        ]}).json()
        call("postBatches", "/batches", {"operations": [{"method": "GET"}]}, malformed=True)
        wait_for(lambda: call("getBatchesId", f"/batches/{batch['id']}").json()["status"] == "finished")
        archive = requests.get(seen["getBatchesId"][-1][2]["response_body_url"], timeout=10).content
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            for entry in tar:
                if entry.isfile():
                    for result in json.load(tar.extractfile(entry)):
                        body = json.loads(result["response"]) if result["response"] else None
                        seen[result["operation_id"]].append((result["status_code"], None, body))
        call("getBatches", "/batches")
        call("getBatchesId", "/batches/nope")
        call("deleteBatchesId", f"/batches/{batch['id']}")
        call("deleteBatchesId", f"/batches/{batch['id']}")
    return seen, sent


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_responses_match_the_spec(spec, schemas, formats, exchanges, operation):
    seen, _ = exchanges
    assert any(status < 300 for status, _, _ in seen[operation]), f"{operation} was not exercised successfully"
    for status, headers, body in seen[operation]:
        if status == 204:
            assert body is None
            continue
        if headers is not None:
            expected = "application/json" if status < 300 else "application/problem+json"
            assert headers["Content-Type"] == f"{expected}; charset=utf-8"
        ref = _response_ref(spec, operation, status)
        assert status < 300 or ref.endswith("/Problem Detail Document")
        assert _errors(OAS30ReadValidator, schemas, formats, ref, body) == [], f"{operation} {status}: {body}"


def test_the_test_traffic_matches_the_request_schemas(spec, schemas, formats, exchanges):
    _, sent = exchanges
    checked = 0
    for operation, body in sent:
        method, path = OPERATIONS[operation]
        request_body = spec["paths"][path][method.lower()].get("requestBody")
        schema = request_body["content"]["application/json"]["schema"]
        assert _errors(OAS30WriteValidator, schemas, formats, schema["$ref"], body) == [], f"{operation}: {body}"
        checked += 1
    assert checked >= 10


def test_the_validation_is_strict_enough_to_catch_mistakes(schemas, formats):
    ref = "#/components/schemas/List Members_2"
    good = {"id": "x", "email_address": "ana@posteo.de", "status": "subscribed", "merge_fields": {"FNAME": ""},
            "last_changed": "2026-06-03T21:30:56+00:00", "timestamp_signup": ""}
    assert _errors(OAS30ReadValidator, schemas, formats, ref, good) == []
    for bad in ({**good, "colour": "red"}, {**good, "status": "gone"}, {**good, "last_changed": "2026-06-03 21:30:56"},
                {**good, "merge_fields": {"FNAME": True}}, {**good, "tags": [{"id": 1, "name": "x", "extra": 1}]}):
        assert _errors(OAS30ReadValidator, schemas, formats, ref, bad) != [], bad
