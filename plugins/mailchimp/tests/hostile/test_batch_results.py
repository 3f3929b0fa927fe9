"""The batch results archive (``response_body_url``) is untrusted: where it may come from, how much of it is read,
how long it may take, and what a failure says."""

from __future__ import annotations

import json
import random
import time
import tracemalloc

import pytest
from archives import (archive, deflate_bomb, good, gzip_bomb, json_bomb, long_name_header, results,
                      tar_header_claiming)
from conftest import client, run_log
from hostile_server import Answer

from opus1_integrations.api import OperationFailed
from opus1_mailchimp.client import ApiError
from opus1_mailchimp.errors import MALFORMED, REDIRECT, UNAVAILABLE, UNSAFE_URL
from opus1_mailchimp.urls import results_url

MAILCHIMP = "https://us6.api.mailchimp.com/3.0"
SIGNED = "?AWSAccessKeyId=AKIAEXAMPLE&Expires=1999999999&Signature=s3cr3tSIGNATURE"
TAR = "application/x-tar"


@pytest.mark.parametrize("url", [
    "http://mailchimp-api-batch.s3.amazonaws.com/x.tar.gz",  # plain http
    "ftp://mailchimp-api-batch.s3.amazonaws.com/x.tar.gz",
    "file:///etc/passwd",
    "https://127.0.0.1/x.tar.gz", "https://10.1.2.3/x.tar.gz", "https://169.254.169.254/latest/meta-data",
    "https://localhost/x.tar.gz", "https://user:pw@s3.amazonaws.com/x.tar.gz", "https:///x.tar.gz",
])
def test_batch_results_are_fetched_over_https_from_public_hosts_only(url):
    with pytest.raises(ApiError) as caught:
        results_url(url, MAILCHIMP)
    assert caught.value.kind == UNSAFE_URL and "Signature" not in str(caught.value)


def test_a_signed_https_results_url_is_allowed_and_shown_without_its_query():
    assert results_url("https://mailchimp-api-batch.s3.amazonaws.com/6e3b-response.tar.gz" + SIGNED, MAILCHIMP) == (
        "mailchimp-api-batch.s3.amazonaws.com/6e3b-response.tar.gz")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/r.tar.gz", "http://localhost:9/r.tar.gz"])
def test_loopback_http_results_are_allowed_only_with_the_loopback_sandbox(url):
    assert results_url(url, "http://127.0.0.1:8465/3.0")
    with pytest.raises(ApiError):
        results_url(url, MAILCHIMP)
    with pytest.raises(ApiError):
        results_url("https://mailchimp-api-batch.s3.amazonaws.com/r.tar.gz", "http://127.0.0.1:8465/3.0")


def test_a_good_archive_gives_each_operations_status_and_keeps_only_error_bodies(hostile):
    items = results(3) + [{"status_code": 404, "operation_id": "3", "response": '{"detail": "gone"}'}]
    hostile.route("GET", "/r.tar.gz", Answer(200, good(items), content_type=TAR))
    got = client(hostile).batch_results(hostile.root_url + "/r.tar.gz", 4)
    assert got["0"] == {"status_code": 200, "response": ""}
    assert got["3"] == {"status_code": 404, "response": '{"detail": "gone"}'}
    assert "Authorization" not in hostile.seen("GET")[0].headers


def test_batch_results_redirected_to_another_host_are_not_fetched(hostile, elsewhere):
    elsewhere.route("GET", "/r.tar.gz", Answer(200, good(results(1)), content_type=TAR))
    hostile.route("GET", "/r.tar.gz", Answer(302, b"", headers={"Location": elsewhere.root_url + "/r.tar.gz"}))
    with pytest.raises(ApiError) as caught:
        client(hostile).batch_results(hostile.root_url + "/r.tar.gz" + SIGNED, 1)
    assert caught.value.kind == REDIRECT and "127.0.0.1" in str(caught.value)
    assert elsewhere.requests == []


def test_batch_results_redirected_within_their_host_are_followed(hostile):
    hostile.route("GET", "/r.tar.gz", Answer(307, b"", headers={"Location": "/moved.tar.gz"}))
    hostile.route("GET", "/moved.tar.gz", Answer(200, good(results(2)), content_type=TAR))
    assert set(client(hostile).batch_results(hostile.root_url + "/r.tar.gz", 2)) == {"0", "1"}


def test_a_gzip_of_zeros_ends_the_archive_without_reading_the_rest(hostile):
    hostile.route("GET", "/r.tar.gz", Answer(200, gzip_bomb(64 * 1024 * 1024), content_type=TAR))
    started = time.monotonic()
    assert client(hostile).batch_results(hostile.root_url + "/r.tar.gz", 1) == {}
    assert time.monotonic() - started < 5


def test_a_decompression_bomb_is_refused_at_the_cap_in_bounded_memory(hostile):
    bomb = json_bomb(64, 16 * 1024 * 1024)  # 1 GiB of JSON in about 1 MB
    assert len(bomb) < 2_000_000
    hostile.route("GET", "/r.tar.gz", Answer(200, bomb, content_type=TAR))
    mc = client(hostile)
    tracemalloc.start()
    try:
        with pytest.raises(ApiError) as caught:
            mc.batch_results(hostile.root_url + "/r.tar.gz", 100)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.kind == MALFORMED and "decompressed" in str(caught.value)
    assert peak < 40 * 1024 * 1024


def test_an_archive_gzipped_twice_with_content_encoding_is_bounded_too(hostile):
    hostile.route("GET", "/r.tar.gz", Answer(200, deflate_bomb(64 * 1024 * 1024), content_type=TAR,
                                             headers={"Content-Encoding": "gzip"}))
    with pytest.raises(ApiError) as caught:
        client(hostile).batch_results(hostile.root_url + "/r.tar.gz", 1)
    assert caught.value.kind == MALFORMED


def test_an_archive_over_the_compressed_cap_is_refused(hostile):
    noise = archive({"./noise.bin": random.Random(1).randbytes(17 * 1024 * 1024)}, level=1)  # does not compress
    hostile.route("GET", "/r.tar.gz", Answer(200, noise, content_type=TAR))
    with pytest.raises(ApiError) as caught:
        client(hostile).batch_results(hostile.root_url + "/r.tar.gz", 1)
    assert caught.value.kind == MALFORMED and "bytes" in str(caught.value)


@pytest.mark.parametrize("body, words", [
    (archive({f"./{i}.json": b"[]" for i in range(40)}), "entries"),
    (tar_header_claiming(10 ** 11), "bytes"),
    (long_name_header(10 ** 9), "extended tar header"),
    (archive({"./a.json": b"[" * 200_000 + b"]" * 200_000}), "nested too deeply"),
    (archive({"./a.json": b'{"status_code": 200}'}), "not a JSON array"),
    (archive({"./a.json": b'[{"status_code": 200, "response": "' + b"x" * (2 * 1024 * 1024) + b'"}]'}), "1 MiB"),
    (archive({"./a.json": b'[{"status_code": "200"}]'}), "status_code"),
    (archive({"./a.json": b'[{"status_code": 200}] trailing'}), "after the results"),
    (b"<html>Access Denied</html>", "gzipped tar"),
    (good(results(500, response="x"))[:200], "cut short"),
], ids=["too-many-entries", "entry-claims-100GB", "long-name-header-1GB", "deep-nesting", "not-an-array",
        "result-over-1MiB", "status-not-a-number", "trailing-data", "not-gzip", "truncated"])
def test_a_hostile_archive_is_refused_in_words(hostile, body, words):
    hostile.route("GET", "/r.tar.gz", Answer(200, body, content_type=TAR))
    with pytest.raises(ApiError) as caught:
        client(hostile).batch_results(hostile.root_url + "/r.tar.gz", 2)
    assert caught.value.kind == MALFORMED and words in str(caught.value)
    assert isinstance(caught.value.to_host_error(), OperationFailed)


def test_links_and_other_entries_are_never_extracted(hostile, tmp_path):
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("./evil.json")
        link.type, link.linkname = tarfile.SYMTYPE, str(tmp_path / "victim")
        tar.addfile(link)
        data = json.dumps(results(1)).encode()
        info = tarfile.TarInfo("../../escape.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    hostile.route("GET", "/r.tar.gz", Answer(200, buffer.getvalue(), content_type=TAR))
    assert client(hostile).batch_results(hostile.root_url + "/r.tar.gz", 1) == {"0": {"status_code": 200,
                                                                                        "response": ""}}
    assert list(tmp_path.iterdir()) == []


def test_a_trickling_results_server_is_cut_off_at_the_deadline(hostile):
    hostile.route("GET", "/r.tar.gz", Answer(200, good(results(1)), content_type=TAR, trickle=0.5))
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        client(hostile, results_seconds=1.5).batch_results(hostile.root_url + "/r.tar.gz" + SIGNED, 1)
    assert time.monotonic() - started < 5
    assert caught.value.kind == UNAVAILABLE and "within 1.5 s" in str(caught.value)
    assert "Signature" not in str(caught.value) + caught.value.url


def test_batch_results_are_retried_like_other_calls(hostile):
    hostile.sequence("GET", "/r.tar.gz", Answer(503, b"", content_type=None), Answer(503, b"", content_type=None),
                     Answer(200, good(results(1)), content_type=TAR))
    mc = client(hostile, retry_seconds=10)
    assert mc.batch_results(hostile.root_url + "/r.tar.gz", 1) == {"0": {"status_code": 200, "response": ""}}
    assert len(hostile.seen("GET", "/r.tar.gz")) == 3


def test_a_failed_download_exits_1_naming_host_and_path_but_never_the_signature(
        run_cli, studio, mailchimp_sandbox, hostile, opus1_home):
    studio.configure(3, "--retry-seconds", "1")
    assert run_cli("sync", "mailchimp").code == 0
    hostile.route("GET", "/batch-results/signed.tar.gz", Answer(503, "<html>Slow Down</html>",
                                                                content_type="text/html"))
    # Mailchimp's links are pre-signed: make the sandbox name the hostile server, signature in the query string
    mailchimp_sandbox.name_batch_results_at(hostile.root_url + "/batch-results/signed.tar.gz" + SIGNED + "&id=")
    studio.write(3, first="Mariana")
    result = run_cli("sync", "mailchimp")
    assert result.code == 1, result.err
    assert f"127.0.0.1:{hostile.root_url.rsplit(':', 1)[1]}/batch-results/signed.tar.gz" in result.err
    assert "Signature" not in result.err + result.out and "s3cr3t" not in run_log(opus1_home)
    assert "bug" not in result.err and mailchimp_sandbox.api_key not in result.err + run_log(opus1_home)
