"""The Mailchimp API surface: routes a method and a path below ``/3.0`` to the reads, the writes and the batches.

Used by the Sandbox for each HTTP request (the server then waits out the modelled latency, see
``Reply.model_seconds``) and by the batch worker for each operation. ``fields``/``exclude_fields`` (dot notation) are
applied to every JSON answer.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from urllib.parse import unquote

from . import reads, replies, writes
from .account import Account
from .batches import Batches
from .clock import parse_time
from .replies import Problem, Reply, problem_reply
from .rules import ALL_STATUSES, check_choice
from .traffic import Latency

MAX_COUNT = 1000


class Api:
    """Routes API requests; owns the batch runner (whose operations come back through :meth:`dispatch`)."""

    def __init__(self, account: Account, latency: Latency, seed: int = 0):
        self.account = account
        self.latency = latency
        self.batches = Batches(self.dispatch, latency, account.now, seed)
        self._random = random.Random(seed)
        self._random_lock = threading.Lock()

    def problem(self, problem: Problem) -> Reply:
        """The reply for an error, with a new ``instance`` id (a UUID, deterministic for a seed and request order)."""
        with self._random_lock:
            instance = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
        return problem_reply(problem, instance)

    def dispatch(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        """Answer one request; ``path`` is below ``/3.0`` (e.g. ``/lists/abc/members``)."""
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        try:
            reply = self._route(method, parts, query, body)
        except Problem as problem:
            return self.problem(problem)
        if isinstance(reply.body, dict) and (query.get("fields") or query.get("exclude_fields")):
            reply.body = select_fields(reply.body, query.get("fields"), query.get("exclude_fields"))
        return reply

    def _route(self, method: str, parts: list[str], query: dict[str, str], body: bytes) -> Reply:
        a, b = self.account, self.batches
        skip = _flag(query, "skip_merge_validation")
        match parts:
            case []:
                _only(method, "GET")
                return Reply(200, reads.root(a))
            case ["ping"]:
                _only(method, "GET")
                return Reply(200, {"health_status": "Everything's Chimpy!"})
            case ["lists", list_id]:
                if method == "GET":
                    return Reply(200, reads.list_info(a, list_id, _flag(query, "include_total_contacts")))
                _only(method, "GET, POST")
                data = _json(body)
                members = data.get("members") if isinstance(data, dict) else None
                answer = writes.batch_subscribe(a, list_id, data, skip, _flag(query, "skip_duplicate_check"),
                                                new_keys=_member_keys(query, "new_members"),
                                                updated_keys=_member_keys(query, "updated_members"))
                return Reply(200, answer, model_seconds=self.latency.member_seconds(
                    len(members) if isinstance(members, list) else 0))
            case ["lists", list_id, "merge-fields"]:
                _only(method, "GET")
                return Reply(200, reads.merge_field_info(a, list_id, *_page(query)))
            case ["lists", list_id, "members"]:
                if method == "GET":
                    return Reply(200, reads.list_members(a, list_id, **_member_filters(query)))
                _only(method, "GET, POST")
                return Reply(200, writes.add_member(a, list_id, _json(body), skip))
            case ["lists", list_id, "members", segment]:
                if method == "GET":
                    return Reply(200, reads.get_member(a, list_id, segment))
                if method == "PUT":
                    return Reply(200, writes.put_member(a, list_id, segment, _json(body), skip))
                if method == "PATCH":
                    return Reply(200, writes.patch_member(a, list_id, segment, _json(body), skip))
                _only(method, "GET, PUT, PATCH, DELETE")
                writes.archive_member(a, list_id, segment)
                return Reply(204)
            case ["lists", list_id, "members", segment, "tags"]:
                if method == "GET":
                    return Reply(200, reads.member_tags(a, list_id, segment, *_page(query)))
                _only(method, "GET, POST")
                writes.update_tags(a, list_id, segment, _json(body))
                return Reply(204)
            case ["lists", list_id, "members", segment, "actions", "delete-permanent"]:
                _only(method, "POST")
                writes.delete_permanent(a, list_id, segment)
                return Reply(204)
            case ["batches"]:
                if method == "GET":
                    return Reply(200, b.list(*_page(query)))
                _only(method, "GET, POST")
                return Reply(200, b.submit(_json(body)))
            case ["batches", batch_id]:
                if method == "GET":
                    return Reply(200, b.get(batch_id))
                _only(method, "GET, DELETE")
                b.delete(batch_id)
                return Reply(204)
        raise replies.not_found()


def _only(method: str, allow: str) -> None:
    """405 unless ``method`` is in ``allow`` (a comma list, as sent in the ``Allow`` header)."""
    if method not in allow.split(", "):
        raise replies.method_not_allowed(allow)


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        raise replies.json_parse_error() from None


def _flag(query: dict[str, str], name: str) -> bool:
    return query.get(name, "").lower() == "true"


def _int(query: dict[str, str], name: str, default: int, maximum: int | None = None) -> int:
    raw = query.get(name, "")
    try:
        value = int(raw) if raw != "" else default
    except ValueError:
        raise replies.field_error(name, "Please provide a whole number.") from None
    if value < 0:
        raise replies.field_error(name, "Value must be greater than or equal to 0.")
    if maximum is not None and value > maximum:
        raise replies.field_error(name, f"Value must be less than or equal to {maximum}.")
    return value


def _page(query: dict[str, str]) -> tuple[int, int]:
    """``count`` (default 10, at most 1000) and ``offset`` (default 0)."""
    return _int(query, "count", 10, MAX_COUNT), _int(query, "offset", 0)


def _member_keys(query: dict[str, str], collection: str) -> set[str] | None:
    """The member keys ``fields`` keeps in ``collection`` (None: all), so only those are built; ``fields`` then
    trims the answer as for any resource."""
    if not query.get("fields"):
        return None
    wanted = _tree(query["fields"]).get(collection, {})
    return set(wanted) if isinstance(wanted, dict) else None


def _member_filters(query: dict[str, str]) -> dict:
    """The keyword arguments of :func:`reads.list_members` from the query string."""
    count, offset = _page(query)
    filters: dict = {"count": count, "offset": offset, "vip_only": _flag(query, "vip_only")}
    filters["member_keys"] = _member_keys(query, "members")
    status = query.get("status")
    if status:
        filters["status"] = check_choice(status, "status", ALL_STATUSES)
    for name in ("email_type", "unique_email_id"):
        if query.get(name):
            filters[name] = query[name]
    for name in ("since_last_changed", "before_last_changed", "since_timestamp_opt", "before_timestamp_opt"):
        if query.get(name):
            filters[name] = parse_time(query[name], name)
    if query.get("sort_field"):
        filters["sort_field"] = check_choice(query["sort_field"], "sort_field", reads.SORT_FIELDS)
        filters["sort_dir"] = "DESC" if query.get("sort_dir", "").upper() == "DESC" else "ASC"
    return filters


def _tree(paths: str) -> dict:
    """``"members.email_address,total_items"`` as a nested dict whose leaves are True."""
    tree: dict = {}
    for path in filter(None, (p.strip() for p in paths.split(","))):
        node = tree
        *parents, leaf = path.split(".")
        for part in parents:
            if node.get(part) is True:
                break
            node = node.setdefault(part, {})
        else:
            node[leaf] = True
    return tree


def _pick(value, tree):
    if tree is True:
        return value
    if isinstance(value, list):
        return [_pick(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: _pick(value[k], sub) for k, sub in tree.items() if k in value}
    return value


def _drop(value, tree):
    if isinstance(value, list):
        return [_drop(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: (_drop(v, tree[k]) if k in tree else v) for k, v in value.items() if tree.get(k) is not True}
    return value


def select_fields(body: dict, fields: str | None, exclude: str | None) -> dict:
    """Keep only ``fields``, then remove ``exclude_fields`` (comma lists, dot notation into objects and arrays)."""
    if fields:
        body = _pick(body, _tree(fields))
    if exclude:
        body = _drop(body, _tree(exclude))
    return body
