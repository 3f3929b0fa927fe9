"""Batch result archives as Mailchimp serves them (a gzipped tar of JSON arrays), and hostile variants of them."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zlib


def results(n: int, status: int = 200, response: str = "{}") -> list[dict]:
    """``n`` results with operation ids "0".."n-1"."""
    return [{"status_code": status, "operation_id": str(i), "response": response} for i in range(n)]


def archive(files: dict[str, bytes], *, level: int = 9) -> bytes:
    """A tar.gz with a "./" entry and ``files`` (name -> bytes)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.USTAR_FORMAT, compresslevel=level) as tar:
        info = tarfile.TarInfo("./")
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def good(items: list[dict]) -> bytes:
    """An archive like Mailchimp's: the results in one JSON file."""
    return archive({"./0a1b2c.json": json.dumps(items).encode()})


def gzip_bomb(size: int) -> bytes:
    """A gzip holding ``size`` zero bytes (about 1 KB compressed per MB)."""
    out = io.BytesIO()
    chunk = bytes(1024 * 1024)
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as f:
        for _ in range(size // len(chunk)):
            f.write(chunk)
    return out.getvalue()


def tar_header_claiming(size: int) -> bytes:
    """A gzipped tar whose only entry claims ``size`` bytes but holds none."""
    info = tarfile.TarInfo("./huge.json")
    info.size = size
    return gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT) + bytes(1024))


def long_name_header(size: int) -> bytes:
    """A gzipped tar starting with a GNU long-name header that claims ``size`` bytes."""
    info = tarfile.TarInfo("././@LongLink")
    info.type, info.size = tarfile.GNUTYPE_LONGNAME, size
    return gzip.compress(info.tobuf(format=tarfile.USTAR_FORMAT) + bytes(4096))


def deflate_bomb(size: int) -> bytes:
    """``size`` zero bytes, deflated as an HTTP gzip Content-Encoding."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + compressor.flush()


def json_bomb(entries: int, entry_size: int) -> bytes:
    """A gzip (one member per entry, all alike: quick to make) of a tar of ``entries`` JSON files of ``entry_size``
    bytes each, every one an empty array padded with spaces."""
    info = tarfile.TarInfo("./results.json")
    info.size = entry_size
    one = info.tobuf(format=tarfile.USTAR_FORMAT) + b"[" + b" " * (entry_size - 2) + b"]" + bytes(-entry_size % 512)
    return gzip.compress(one, compresslevel=6) * entries + gzip.compress(bytes(1024))
