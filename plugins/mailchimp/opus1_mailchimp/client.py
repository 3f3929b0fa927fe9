"""A Mailchimp client on the official SDK that cannot be sent elsewhere, trusts no answer and retries safely.

The SDK derives its host from the API key and substitutes it into the URL unchecked (a crafted key could send the
key and every payload to any host), opens a new connection per call, follows redirects, reads bodies of any size,
hands back HTML or a ``requests.Response`` where a dict was expected, and never retries. This module keeps the
SDK's API groups and request building but pins the host before any request, sends through one pooled session with
redirects off, caps concurrent requests at ``max_connections`` and at Mailchimp's 10 per key across the process,
limits each exchange in total time and body size, checks every answer (:mod:`.answers`), and retries what a retry
can fix (429, 5xx, network errors, unusable answers) with capped backoff for up to ``retry_seconds``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import requests
import urllib3
from mailchimp_marketing.api.batches_api import BatchesApi
from mailchimp_marketing.api.lists_api import ListsApi
from mailchimp_marketing.api.ping_api import PingApi
from mailchimp_marketing.api.root_api import RootApi
from mailchimp_marketing.api_client import ApiClient
from tenacity import Retrying, retry_if_exception, stop_before_delay, stop_when_event_set, wait_exponential_jitter

from . import answers, batch_results
from .deadline import DeadlineAdapter, deadline
from .errors import MALFORMED, ApiError, malformed, network_error
from .key_slots import slots_for
from .urls import base_url, shown_url

__all__ = ["ApiError", "Mailchimp", "base_url"]

#: The longest wait between two attempts of one call.
MAX_BACKOFF_SECONDS = 30


class PinnedApiClient(ApiClient):
    """The SDK's ApiClient with a fixed host, a pooled session, at most ``max_connections`` requests in flight (and
    at most Mailchimp's 10 per key in this process), each limited to ``timeout`` seconds in total."""

    def __init__(self, api_key: str, url: str, *, max_connections: int = 10, timeout: float = 120):
        super().__init__({"api_key": api_key, "timeout": timeout})
        self.host = url
        self.server = ""  # turns off the SDK's `url.replace('server', ...)`
        self.session = requests.Session()
        adapter = DeadlineAdapter(pool_connections=1, pool_maxsize=max_connections, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._slots = threading.BoundedSemaphore(max_connections)
        self._key_slots = slots_for(api_key)
        self._count_lock = threading.Lock()
        self._local = threading.local()
        self.requests = 0
        self.writes = 0
        self.server_time: datetime | None = None
        self.last_write_time: datetime | None = None

    def call_api(self, resource_path, method, path_params=None, query_params=None, header_params=None, body=None,
                 collection_formats=None, **_):
        """Build the request as the SDK does (headers, path and query parameters) and send it with
        :meth:`request`: the checked JSON answer (``None`` for 204), or an :class:`ApiError`."""
        headers = {**(header_params or {}), **self.default_headers}
        headers = dict(self.parameters_to_tuples(self.sanitize_for_serialization(headers), collection_formats))
        for name, value in self.parameters_to_tuples(self.sanitize_for_serialization(path_params or {}),
                                                     collection_formats):
            resource_path = resource_path.replace("{%s}" % name, quote(str(value), safe=""))
        if query_params:
            query_params = self.parameters_to_tuples(self.sanitize_for_serialization(query_params), collection_formats)
        return self.request(method, self.host + resource_path, query_params, headers=headers, body=body)

    def request(self, method, url, query_params=None, headers=None, body=None):
        """Send one request through the pooled session, only ever to the pinned host, and return its checked
        answer."""
        if not url.startswith(self.host + "/"):
            raise ValueError("refusing to send a request outside the configured Mailchimp host")
        where = shown_url(url)
        self._local.url = where
        write = method not in ("GET", "HEAD", "OPTIONS")
        with self._count_lock:
            self.requests += 1
            self.writes += write
        data = None if method in ("GET", "HEAD", "OPTIONS", "DELETE") else json.dumps(body)
        with self._slots, self._key_slots, deadline(self.timeout) as limit:
            try:
                response = self.session.request(
                    method, url, params=query_params, data=data, headers=headers, auth=("user", self.api_key),
                    timeout=self.timeout, allow_redirects=False, stream=True,
                )
                try:
                    content = answers.read_body(response, answers.MAX_ANSWER_BYTES)
                finally:
                    response.close()
            except answers.TooLarge as exc:
                raise malformed(f"the answer is too large ({exc})", where, response.status_code) from None
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                reason = f"no complete answer within {self.timeout:g} s" if limit.expired else _network_reason(exc)
                raise network_error(reason, where) from None
        self._note_time(response, write)
        try:
            return answers.parse(response, content, where)
        except ApiError as exc:
            raise exc.without(self.api_key) from None

    @property
    def last_url(self) -> str:
        """Host and path of this thread's latest request."""
        return getattr(self._local, "url", self.host)

    def _note_time(self, response: requests.Response, write: bool) -> None:
        """Keep Mailchimp's clock (the ``Date`` header, to the second) of the latest answer and of the latest write."""
        try:
            when = parsedate_to_datetime(response.headers["Date"]).astimezone(timezone.utc)
        except (KeyError, TypeError, ValueError, IndexError):
            return
        with self._count_lock:
            self.server_time = max(filter(None, (self.server_time, when)))
            if write:
                self.last_write_time = max(filter(None, (self.last_write_time, when)))

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()


def _network_reason(error: Exception) -> str:
    """A short reason for a transport error, without URLs or headers."""
    if isinstance(error, (requests.Timeout, urllib3.exceptions.TimeoutError)):
        return "the request timed out"
    if isinstance(error, (requests.ConnectionError, urllib3.exceptions.ProtocolError, OSError)):
        return "the connection failed or was dropped"
    return f"the exchange failed ({type(error).__name__})"


class Mailchimp:
    """The SDK's API groups on a pinned client; every call retried within the budget, errors as ``ApiError``.

    ``on_retry`` is called with one line of text (e.g. "Mailchimp answered 503; retrying for up to 5 min") when an
    episode of retries starts; the next episode starts once no call is retrying any more.
    """

    def __init__(
        self,
        api_key: str,
        api_url: str | None = None,
        *,
        max_connections: int = 10,
        timeout: float = 120,
        retry_seconds: float = 300,
        batch_wait_seconds: float = 1800,
        results_seconds: float = batch_results.DOWNLOAD_SECONDS,
        on_retry: Callable[[str], None] | None = None,
        max_backoff: float = MAX_BACKOFF_SECONDS,
    ):
        self.api = PinnedApiClient(api_key, base_url(api_key, api_url), max_connections=max_connections, timeout=timeout)
        self.max_connections = max_connections
        self.batch_wait_seconds = batch_wait_seconds
        self.results_seconds = results_seconds
        self.lists = ListsApi(self.api)
        self.batches = BatchesApi(self.api)
        self.ping = PingApi(self.api)
        self.root = RootApi(self.api)
        self.retry_seconds = retry_seconds
        self._max_backoff = max_backoff
        self._on_retry = on_retry
        self._retrying = 0  # calls retrying now
        self._episode_lock = threading.Lock()
        self._closed = threading.Event()
        self._downloads = requests.Session()
        self._downloads.mount("https://", DeadlineAdapter(max_retries=0))
        self._downloads.mount("http://", DeadlineAdapter(max_retries=0))

    def call(self, fn, *args, shape=None, **kwargs):
        """Call an SDK method; retry what a retry can fix with capped exponential backoff for up to
        ``retry_seconds`` (ended early by :meth:`close`). With ``shape`` (see :mod:`.answers`), an answer of
        another shape is an ``ApiError`` too."""

        def attempt():
            answer = fn(*args, **kwargs)
            if shape is not None:
                answers.check_shape(answer, shape, self.api.last_url)
            return answer

        return self._retry(attempt)

    def batch_subscribe(self, list_id: str, body: dict, fields: list[str], shape=None) -> dict:
        """Batch subscribe (``POST /lists/{list_id}``) answering only ``fields``, with retries as :meth:`call`.

        The SDK's ``lists.batch_list_members`` cannot pass ``fields``; without it every answer carries each new
        member's full record (about 1 KB each), which the client would decode only to read the address.
        """
        return self.call(
            self.api.call_api, "/lists/{list_id}", "POST", path_params={"list_id": list_id},
            query_params={"fields": ",".join(fields)}, body=body,
            header_params={"Accept": "application/json", "Content-Type": "application/json"}, shape=shape,
        )

    def batch_results(self, url: str, operations: int) -> dict[str, dict]:
        """A finished batch's results by operation id, from its ``response_body_url`` (see :mod:`.batch_results`),
        retried as :meth:`call`."""
        return self._retry(lambda: batch_results.fetch(self._downloads, url, self.api.host, operations,
                                                       self.results_seconds))

    def _retry(self, attempt: Callable[[], object]):
        """``attempt()`` retried within the budget; an episode of retries (from the first call that retries until
        no call is retrying any more) is announced once through ``on_retry``."""
        retried = False

        def before_sleep(state) -> None:
            nonlocal retried
            if retried:
                return
            retried = True
            with self._episode_lock:
                self._retrying += 1
                first = self._retrying == 1
            if first and self._on_retry is not None:
                self._on_retry(retry_notice(state.outcome.exception(), self.retry_seconds))

        retrying = Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, ApiError) and exc.transient),
            wait=wait_exponential_jitter(multiplier=0.2, max=self._max_backoff, jitter=0.2),
            stop=stop_before_delay(self.retry_seconds) | stop_when_event_set(self._closed),
            sleep=self._closed.wait,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        finally:
            if retried:
                with self._episode_lock:
                    self._retrying -= 1

    @property
    def requests(self) -> int:
        """How many HTTP requests this client has sent to the API (retries included)."""
        return self.api.requests

    @property
    def writes(self) -> int:
        """How many of them were writes (POST, PUT, PATCH, DELETE)."""
        return self.api.writes

    @property
    def server_time(self) -> datetime | None:
        """Mailchimp's time of its latest answer (None before any, or without a ``Date`` header)."""
        return self.api.server_time

    @property
    def last_write_time(self) -> datetime | None:
        """Mailchimp's time of its answer to this client's latest write, if any."""
        return self.api.last_write_time

    def close(self) -> None:
        """Release the connections; calls still retrying (in other threads) give up after their current attempt."""
        self._closed.set()
        self.api.close()
        self._downloads.close()


def retry_notice(exc: BaseException | None, seconds: float) -> str:
    """One status line for an episode of retries."""
    if isinstance(exc, ApiError) and exc.kind == MALFORMED:
        what = "Mailchimp sent an unusable answer"
    elif isinstance(exc, ApiError) and exc.status is not None:
        what = f"Mailchimp answered {exc.status}"
    else:
        what = f"Mailchimp could not be reached ({exc.detail})" if isinstance(exc, ApiError) else "Mailchimp failed"
    return f"{what}; retrying for up to {_duration(seconds)}, Ctrl-C to stop"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:g} s"
    return f"{seconds / 60:.0f} min"
