"""The control surface under ``/_sandbox``: the Sandbox's public controls over HTTP, for the CLI and other processes
(the endpoints are listed in docs/sandbox.md). Answers are JSON; mistakes get 400 ``{"error": "..."}``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import unquote

from .replies import Problem, Reply

if TYPE_CHECKING:
    from .core import Sandbox

CONTROL_PREFIX = "/_sandbox"
SEED_KEYS = {"email", "status", "unsubscribed_by", "unsubscribe_reason", "merge_fields", "tags", "forgotten",
             "audience_id"}
AUDIENCE_KEYS = {"id", "name", "merge_fields"}
FAULT_KEYS = {"kind", "rate", "count", "methods", "path_contains"}
LATENCY_KEYS = ("latency_ms", "per_member_ms")


def control(sandbox: "Sandbox", method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
    """Answer one control request."""
    parts = [unquote(p) for p in path[len(CONTROL_PREFIX):].strip("/").split("/") if p]
    try:
        return _route(sandbox, method, parts, query, body)
    except Problem as problem:
        return Reply(400, {"error": problem.detail, "errors": problem.errors or []})
    except (ValueError, TypeError, KeyError) as exc:
        return Reply(400, {"error": f"{type(exc).__name__}: {exc}"})


def _route(sandbox: "Sandbox", method: str, parts: list[str], query: dict[str, str], body: bytes) -> Reply:
    audience_id = query.get("audience_id")
    match method, parts:
        case "GET", []:
            return Reply(200, sandbox.info())
        case "GET", ["audiences"]:
            return Reply(200, {"audiences": sandbox.audiences()})
        case "POST", ["audiences"]:
            for item in _items(json.loads(body)):
                args = dict(_keys(item, AUDIENCE_KEYS))
                sandbox.add_audience(args.pop("id"), **args)
            return Reply(200, {"audiences": sandbox.audiences()})
        case "GET", ["members"]:
            return Reply(200, {"members": sandbox.members(audience_id)})
        case "GET", ["members", email]:
            member = sandbox.member(email, audience_id)
            return Reply(200, member) if member else Reply(404, {"error": f"{email} is not a member"})
        case "POST", ["members"]:
            seeded = []
            for item in _items(json.loads(body)):
                args = dict(_keys(item, SEED_KEYS))
                seeded.append(sandbox.seed_member(args.pop("email"), **args))
            return Reply(200, {"members": seeded})
        case "GET", ["requests"]:
            return Reply(200, {"requests": [
                {"method": r.method, "path": r.path, "query": r.query, "headers": r.headers,
                 "body": r.body.decode("utf-8", "replace"), "status": r.status} for r in sandbox.requests]})
        case "DELETE", ["requests"]:
            sandbox.clear_requests()
            return Reply(204)
        case "POST", ["reset"]:
            sandbox.reset()
            return Reply(204)
        case "GET", ["faults"]:
            return Reply(200, {"faults": sandbox.fault_rules()})
        case "POST", ["faults"]:
            sandbox.inject(**_keys(json.loads(body), FAULT_KEYS))
            return Reply(204)
        case "DELETE", ["faults"]:
            sandbox.clear_faults()
            return Reply(204)
        case "GET", ["latency"]:
            return Reply(200, _latency(sandbox))
        case "PUT", ["latency"]:
            data = _keys(json.loads(body), set(LATENCY_KEYS))
            sandbox.set_latency(float(data.get("latency_ms", 0)), float(data.get("per_member_ms", 0)))
            return Reply(200, _latency(sandbox))
        case "GET", ["batch-results", name] if name.endswith(".tar.gz"):
            archive = sandbox.batch_results(name.removesuffix(".tar.gz"))
            if archive is None:
                return Reply(404, {"error": "no results for this batch (unknown, unfinished or deleted)"})
            return Reply(200, archive, content_type="application/x-gzip")
    return Reply(404, {"error": f"no control {method} {CONTROL_PREFIX}/{'/'.join(parts)}"})


def _items(data: object) -> list:
    """One object or an array of them."""
    return data if isinstance(data, list) else [data]


def _keys(data: object, allowed: set[str]) -> dict:
    """The object's keys, refusing unknown ones."""
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"unknown keys {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}")
    return data


def _latency(sandbox: "Sandbox") -> dict:
    info = sandbox.info()
    return {key: info[key] for key in LATENCY_KEYS}
