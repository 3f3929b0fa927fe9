"""The results archive of a finished ``/batches`` job, fetched and read as the untrusted data it is.

Mailchimp names a pre-signed URL (``response_body_url``, its signature in the query string) of a gzipped tar of
JSON files, each an array of ``{"status_code", "operation_id", "response"}``. Only ``https`` is fetched (plain
``http`` only from a loopback sandbox when the API itself is one), no credentials go with it, a redirect is followed
only to the same host, and one attempt has ``seconds`` in total. The body is streamed: compressed bytes, decompressed
bytes, tar entries and each extended header are counted against caps that grow with the batch's operations;
nothing is extracted to disk; each JSON file is parsed one result at a time, so memory stays bounded by the largest
single result (1 MiB) whatever the archive holds. Failures name the host and path, never the query string.
"""

from __future__ import annotations

import codecs
import json
import re
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from .deadline import deadline
from .errors import http_error, malformed, network_error, redirect, shown
from .urls import results_url

DOWNLOAD_SECONDS = 300
BASE_BYTES = 16 * 1024 * 1024
BYTES_PER_OPERATION = 32 * 1024
RESULT_MAX_BYTES = 1024 * 1024
EXTENDED_HEADER_MAX = 64 * 1024
EXTRA_ENTRIES = 16
MAX_REDIRECTS = 3
CHUNK = 64 * 1024
_EXTENDED = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE,
             tarfile.SOLARIS_XHDTYPE)
_SPACE = re.compile(r"\s*")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class Limits:
    """The caps of one archive."""

    compressed: int
    decompressed: int
    entries: int

    @classmethod
    def for_operations(cls, operations: int) -> "Limits":
        """Caps for a batch of ``operations``: 16 MiB plus 32 KiB per operation, one file per operation plus 16."""
        size = BASE_BYTES + max(operations, 0) * BYTES_PER_OPERATION
        return cls(size, size, max(operations, 0) + EXTRA_ENTRIES)


class Refused(Exception):
    """The archive broke one of its caps or is not what Mailchimp serves."""


def fetch(session: requests.Session, url: str, api_base: str, operations: int, seconds: float) -> dict[str, dict]:
    """The results of a batch of ``operations`` by operation id: ``{"status_code", "response"}`` each, the
    response kept only for errors (``""`` for successes)."""
    where = results_url(url, api_base)
    limits = Limits.for_operations(operations)
    with deadline(seconds) as limit:
        try:
            response = _get(session, url, api_base, where, seconds)
            try:
                chunks = _capped(response.raw.stream(CHUNK, decode_content=False), limits.compressed)
                if response.headers.get("Content-Encoding", "identity").lower() == "gzip":
                    chunks = _gunzip(chunks, limits.decompressed)
                return read_archive(_gunzip(chunks, limits.decompressed), limits)
            finally:
                response.close()
        except (Refused, requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if limit.expired:
                raise network_error(f"the batch results did not arrive within {seconds:g} s", where) from None
            if isinstance(exc, Refused):
                raise malformed(f"the batch results archive was refused: {exc}", where, transient=False) from None
            raise network_error(f"the download failed ({type(exc).__name__})", where) from None


def _get(session: requests.Session, url: str, api_base: str, where: str, seconds: float) -> requests.Response:
    """The archive's response, following at most 3 redirects and only to the same scheme and host."""
    origin = urlsplit(url)
    for _ in range(MAX_REDIRECTS + 1):
        response = session.get(url, stream=True, allow_redirects=False, timeout=min(seconds, 120),
                               headers={"Accept-Encoding": "identity"})
        if not response.is_redirect:
            break
        target = urljoin(url, response.headers.get("Location", ""))
        response.close()
        moved = urlsplit(target)
        if (moved.scheme, moved.hostname, moved.port) != (origin.scheme, origin.hostname, origin.port):
            raise redirect(response.status_code, target, where)
        results_url(target, api_base)
        url = target
    else:
        raise redirect(response.status_code, url, where)
    if response.status_code >= 400:
        status = response.status_code
        response.close()
        raise http_error(status, None, where, f"HTTP {status} for the batch results")
    return response


def read_archive(chunks: Iterable[bytes], limits: Limits) -> dict[str, dict]:
    """The results in a tar stream (already decompressed), within ``limits``."""
    results: dict[str, dict] = {}
    try:
        with tarfile.open(fileobj=_Reader(chunks), mode="r|", tarinfo=_BoundedTarInfo) as tar:
            for n, entry in enumerate(tar, start=1):
                if n > limits.entries:
                    raise Refused(f"more than {limits.entries} entries")
                if not entry.isfile() or not entry.name.endswith(".json"):
                    continue  # the "./" folder; nothing else is ever extracted
                if entry.size > limits.decompressed:
                    raise Refused(f"an entry of {entry.size} bytes")
                for item in json_array(tar.extractfile(entry), RESULT_MAX_BYTES):
                    operation, result = _result(item)
                    results[operation] = result
    except (tarfile.TarError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise Refused(f"not a readable gzipped tar ({shown(str(exc), 120)})") from None
    return results


def _result(item: object) -> tuple[str, dict]:
    if not isinstance(item, dict) or type(item.get("status_code")) is not int:
        raise Refused("a result without a numeric status_code")
    operation = item.get("operation_id")
    if not isinstance(operation, (str, int, type(None))):
        raise Refused("a result with an operation_id that is not text")
    response = item.get("response") if item["status_code"] >= 400 else ""
    return str(operation), {"status_code": item["status_code"],
                            "response": response if isinstance(response, str) else ""}


def json_array(f, item_limit: int) -> Iterator[object]:
    """The items of the JSON array in the binary file ``f``, parsed one at a time (none over ``item_limit``
    characters)."""
    text = codecs.getincrementaldecoder("utf-8")()
    buf, pos, eof = "", 0, False

    def more() -> None:
        nonlocal buf, pos, eof
        data = f.read(CHUNK)
        eof = not data
        buf, pos = buf[pos:] + text.decode(data, final=eof), 0

    def skip_space() -> str:
        nonlocal pos
        while True:
            pos = _SPACE.match(buf, pos).end()
            if pos < len(buf) or eof:
                return buf[pos:pos + 1]
            more()

    if skip_space() != "[":
        raise Refused("a results file that is not a JSON array")
    pos += 1
    if skip_space() == "]":
        pos += 1
    else:
        while True:
            skip_space()
            while True:
                try:
                    item, pos = _DECODER.raw_decode(buf, pos)
                    break
                except json.JSONDecodeError:
                    if eof or len(buf) - pos > item_limit:
                        raise Refused("broken JSON, or a result over 1 MiB") from None
                    more()
                except RecursionError:
                    raise Refused("JSON nested too deeply") from None
            yield item
            separator = skip_space()
            pos += 1
            if separator == "]":
                break
            if separator != ",":
                raise Refused("broken JSON between results")
    if skip_space():
        raise Refused("data after the results array")


def _capped(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise Refused(f"more than {limit} bytes")
        yield chunk


def _gunzip(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """Decompress gzip chunk by chunk, at most 64 KiB at a time and ``limit`` bytes in all."""
    inflate = zlib.decompressobj(wbits=31)
    total = 0
    for data in chunks:
        while data:
            out = inflate.decompress(data, CHUNK)
            data = inflate.unconsumed_tail
            if inflate.eof:
                data = inflate.unused_data.lstrip(b"\0")
                if data:
                    inflate = zlib.decompressobj(wbits=31)  # a further gzip member
            total += len(out)
            if total > limit:
                raise Refused(f"more than {limit} bytes once decompressed")
            if out:
                yield out
    if not inflate.eof:
        raise Refused("the gzip stream is cut short")


class _Reader:
    """A file-like ``read(n)`` over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._buf = bytearray()

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buf += chunk
        n = len(self._buf) if n < 0 else n
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


class _BoundedTarInfo(tarfile.TarInfo):
    """Tar headers with extended headers (long names, pax) of at most 64 KiB and no sparse files: ``tarfile`` would
    otherwise read whatever size a header claims into memory."""

    def _proc_member(self, tarfile_):
        if self.type in _EXTENDED and self.size > EXTENDED_HEADER_MAX:
            raise Refused(f"an extended tar header of {self.size} bytes")
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise Refused("a sparse tar entry")
        return super()._proc_member(tarfile_)

    def _proc_gnusparse_00(self, *args):
        raise Refused("a sparse tar entry")

    _proc_gnusparse_01 = _proc_gnusparse_10 = _proc_gnusparse_00
