"""Mailchimp's answers, read bounded and checked before any of them is used.

Every body is read in chunks up to a size cap (``Content-Encoding`` is decoded chunk by chunk, so a compressed
bomb is refused at the cap, not inflated first). A redirect is refused, an error status becomes an :class:`ApiError`
of its class, and a success must be JSON (by ``Content-Type`` and by parsing) of the shape the caller expects.

A shape is a type (or tuple of types), ``{"key": shape, "optional?": shape}`` for an object (keys ending in ``?``
may be missing or null) or ``[shape]`` for a list of items. Checking is a plain walk, far cheaper per member page
than a JSON Schema validator.
"""

from __future__ import annotations

import json

import requests

from .errors import came_back, http_error, malformed, redirect

#: The largest answer body read (a page of 1,000 members with every merge field full is well below it).
MAX_ANSWER_BYTES = 32 * 1024 * 1024
CHUNK = 64 * 1024


class TooLarge(Exception):
    """A body over its cap."""


def read_body(response: requests.Response, limit: int) -> bytes:
    """The whole body of a streamed response, refused (:class:`TooLarge`) past ``limit`` bytes as decoded."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit and not response.headers.get("Content-Encoding"):
        raise TooLarge(f"{int(declared)} bytes announced, more than the {limit} allowed")
    chunks, size = [], 0
    for chunk in response.raw.stream(CHUNK, decode_content=True):
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"more than the {limit} bytes allowed")
        chunks.append(chunk)
    return b"".join(chunks)


def parse(response: requests.Response, body: bytes, url: str) -> object:
    """The JSON of a success answer (``None`` for 204); an :class:`ApiError` for anything else."""
    status = response.status_code
    content_type = response.headers.get("Content-Type")
    if 300 <= status < 400:
        raise redirect(status, response.headers.get("Location"), url)
    if status >= 400:
        problem = None
        if "json" in (content_type or "").lower():
            try:
                problem = json.loads(body)
            except (ValueError, RecursionError):
                problem = None
        raise http_error(status, problem, url, came_back(status, content_type, body) if body else "")
    if status == 204 or (not body and status == 202):
        return None
    if "application/json" not in (content_type or "").lower():
        raise malformed(f"not JSON: {came_back(status, content_type, body)}", url, status)
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise malformed(f"broken JSON: {came_back(status, content_type, body)}", url, status) from None


def check_shape(answer: object, shape, url: str) -> None:
    """Raise an :class:`ApiError` (not transient: asking again gets the same) unless ``answer`` has ``shape``."""
    problem = _mismatch(answer, shape, "the answer")
    if problem:
        raise malformed(f"unexpected shape: {problem}", url, transient=False)


def _mismatch(value: object, shape, where: str) -> str | None:
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"{where} is {_kind(value)}, expected an object"
        for key, inner in shape.items():
            optional = key.endswith("?")
            name = key[:-1] if optional else key
            if name not in value or value[name] is None:
                if optional:
                    continue
                return f"{where} has no {name!r}"
            problem = _mismatch(value[name], inner, f"{where}.{name}")
            if problem:
                return problem
        return None
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"{where} is {_kind(value)}, expected a list"
        for i, item in enumerate(value):
            problem = _mismatch(item, shape[0], f"{where}[{i}]")
            if problem:
                return problem
        return None
    if not isinstance(value, shape) or (isinstance(value, bool) and shape in (int, float, (int, float))):
        return f"{where} is {_kind(value)}, expected {_kind_of(shape)}"
    return None


_KINDS = {dict: "an object", list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false",
          type(None): "null"}


def _kind(value: object) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _kind_of(shape) -> str:
    types = shape if isinstance(shape, tuple) else (shape,)
    return " or ".join(dict.fromkeys(_KINDS.get(t, t.__name__) for t in types))

