"""A Mailchimp client on the official SDK that cannot be sent elsewhere, reuses connections and retries safely.

The SDK derives its host from the API key and substitutes it into the URL unchecked (a crafted key
could send the key and every payload to any host), opens a new connection per call and never
retries. This module pins the host before any request, keeps one pooled session, caps concurrent
requests at the configured connection limit and retries 429, 5xx and network errors with backoff.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from mailchimp_marketing.api.batches_api import BatchesApi
from mailchimp_marketing.api.lists_api import ListsApi
from mailchimp_marketing.api.ping_api import PingApi
from mailchimp_marketing.api.root_api import RootApi
from mailchimp_marketing.api_client import ApiClient, ApiClientError
from requests.adapters import HTTPAdapter
from tenacity import (Retrying, retry_if_exception, stop_after_attempt, stop_after_delay, stop_when_event_set,
                      wait_exponential_jitter)

from opus1_integrations.api import OperationFailed, SettingsInvalid

API_KEY = re.compile(r"^[0-9a-f]{32}-(?P<dc>[a-z]{2}[0-9]{1,3})$")
RETRY_STATUSES = {429, 500, 502, 503, 504}
KEY_HINT = "copy a key from Mailchimp (Account > Extras > API keys): 32 hex characters, a dash, the datacenter (e.g. -us6)"


def base_url(api_key: str, api_url: str | None = None) -> str:
    """The only base URL requests may go to: ``https://<dc>.api.mailchimp.com/3.0``, or a loopback sandbox."""
    match = API_KEY.match(api_key or "")
    if not match:
        raise SettingsInvalid("the Mailchimp API key is not in Mailchimp's format", hint=KEY_HINT)
    if api_url is None:
        return f"https://{match['dc']}.api.mailchimp.com/3.0"
    parts = urlsplit(api_url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme not in ("http", "https") or not loopback or parts.path.rstrip("/") != "/3.0":
        raise SettingsInvalid(
            f"--api-url {api_url} is not a loopback sandbox URL",
            hint="--api-url is only for the local sandbox, e.g. http://127.0.0.1:8465/3.0; "
            "leave it out to use Mailchimp itself",
        )
    return api_url.rstrip("/")


class EmptyErrorResponse(Exception):
    """An error status with no body (Mailchimp sends 429 or 403 like this under load); the SDK would return it as success."""

    def __init__(self, status: int):
        super().__init__(f"HTTP {status} with an empty body")
        self.status = status


@dataclass
class ApiError(Exception):
    """A Mailchimp error in plain terms: HTTP status (None for network errors), title, detail, field errors."""

    status: int | None
    title: str
    detail: str
    errors: list = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.title}: {self.detail}" if self.detail else self.title

    @classmethod
    def from_sdk(cls, exc: ApiClientError) -> "ApiError":
        """Parse the SDK's error (its ``text`` is a JSON string for problem+json, an exception for network errors)."""
        if isinstance(exc.text, EmptyErrorResponse):
            return cls(exc.text.status, f"HTTP {exc.text.status}", "Mailchimp sent an empty error response")
        if exc.status_code is None:
            return cls(None, "Network error", _network_reason(exc.text))
        body = exc.text
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError:
                body = {}
        if not isinstance(body, dict):
            body = {}
        return cls(
            exc.status_code,
            body.get("title") or f"HTTP {exc.status_code}",
            body.get("detail") or "",
            body.get("errors") or [],
        )

    def to_host_error(self) -> Exception:
        """The host error the CLI shows: rejected credentials are exit 3, anything else exit 1."""
        if self.status in (401, 403):
            return SettingsInvalid(
                f"Mailchimp rejected the API key ({self})",
                hint=f"{KEY_HINT}; then `opus1-int configure mailchimp --api-key ...`",
            )
        if self.status is None:
            return OperationFailed(
                f"cannot reach Mailchimp ({self.detail})",
                hint="check the network connection; the next run retries and finishes the work",
            )
        return OperationFailed(f"Mailchimp answered {self.status} {self}", hint="run again later; `opus1-int diagnose mailchimp` lists errors")


def _network_reason(error: object) -> str:
    """A short reason for a transport error, without URLs or headers."""
    if isinstance(error, requests.Timeout):
        return "the request timed out"
    if isinstance(error, requests.ConnectionError):
        return "the connection failed or was dropped"
    return type(error).__name__


class PinnedApiClient(ApiClient):
    """The SDK's ApiClient with a fixed host, a pooled session and at most ``max_connections`` requests in flight."""

    def __init__(self, api_key: str, url: str, *, max_connections: int = 10, timeout: float = 120):
        super().__init__({"api_key": api_key, "timeout": timeout})
        self.host = url
        self.server = ""  # turns off the SDK's `url.replace('server', ...)`
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max_connections, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._slots = threading.BoundedSemaphore(max_connections)
        self._count_lock = threading.Lock()
        self.requests = 0
        self.writes = 0
        self.server_time: datetime | None = None
        self.last_write_time: datetime | None = None

    def request(self, method, url, query_params=None, headers=None, body=None):
        """Send one request through the pooled session, only ever to the pinned host."""
        if not url.startswith(self.host + "/"):
            raise ValueError("refusing to send a request outside the configured Mailchimp host")
        with self._count_lock:
            self.requests += 1
            self.writes += method not in ("GET", "HEAD", "OPTIONS")
        data = None if method in ("GET", "HEAD", "OPTIONS", "DELETE") else json.dumps(body)
        with self._slots:
            response = self.session.request(
                method, url, params=query_params, data=data, headers=headers,
                auth=("user", self.api_key), timeout=self.timeout,
            )
        if response.status_code >= 400 and not response.content:
            raise EmptyErrorResponse(response.status_code)
        self._note_time(response, write=method not in ("GET", "HEAD", "OPTIONS"))
        return response

    def _note_time(self, response: requests.Response, write: bool) -> None:
        """Keep Mailchimp's clock (the ``Date`` header, to the second) of the latest answer and of the latest write."""
        try:
            when = parsedate_to_datetime(response.headers["Date"]).astimezone(timezone.utc)
        except (KeyError, TypeError, ValueError):
            return
        with self._count_lock:
            self.server_time = max(filter(None, (self.server_time, when)))
            if write:
                self.last_write_time = max(filter(None, (self.last_write_time, when)))

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()


class Mailchimp:
    """The SDK's API groups on a pinned client, with every call retried and errors turned into ``ApiError``."""

    def __init__(
        self,
        api_key: str,
        api_url: str | None = None,
        *,
        max_connections: int = 10,
        timeout: float = 120,
        retry_seconds: float = 300,
        retry_attempts: int = 8,
    ):
        self.api = PinnedApiClient(api_key, base_url(api_key, api_url), max_connections=max_connections, timeout=timeout)
        self.max_connections = max_connections
        self.lists = ListsApi(self.api)
        self.batches = BatchesApi(self.api)
        self.ping = PingApi(self.api)
        self.root = RootApi(self.api)
        self._retry_seconds = retry_seconds
        self._retry_attempts = retry_attempts
        self._closed = threading.Event()

    def call(self, fn, *args, **kwargs):
        """Call an SDK method; retry 429, 5xx and network errors with exponential backoff, bounded in time and
        ended by :meth:`close`."""
        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            wait=wait_exponential_jitter(multiplier=0.2, max=20, jitter=0.2),
            stop=stop_after_attempt(self._retry_attempts) | stop_after_delay(self._retry_seconds)
            | stop_when_event_set(self._closed),
            reraise=True,
        )
        try:
            return retrying(fn, *args, **kwargs)
        except ApiClientError as exc:
            raise ApiError.from_sdk(exc) from None

    def batch_subscribe(self, list_id: str, body: dict, fields: list[str]) -> dict:
        """Batch subscribe (``POST /lists/{list_id}``) answering only ``fields``, with retries as :meth:`call`.

        The SDK's ``lists.batch_list_members`` cannot pass ``fields``; without it every answer carries each new
        member's full record (about 1 KB each), which the client would decode only to read the address.
        """
        return self.call(
            self.api.call_api, "/lists/{list_id}", "POST", path_params={"list_id": list_id},
            query_params={"fields": ",".join(fields)}, body=body,
            header_params={"Accept": "application/json", "Content-Type": "application/json"},
        )

    def download(self, url: str) -> bytes:
        """Fetch a batch result archive (pre-signed URL: no credentials are sent with it)."""
        response = requests.get(url, timeout=self.api.timeout)
        response.raise_for_status()
        return response.content

    @property
    def requests(self) -> int:
        """How many HTTP requests this client has sent (retries included)."""
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


def _retryable(exc: BaseException) -> bool:
    if not isinstance(exc, ApiClientError):
        return False
    if isinstance(exc.text, EmptyErrorResponse):
        return exc.text.status in (403, 429) or exc.text.status >= 500  # Mailchimp's overload answers
    if exc.status_code is None:
        return isinstance(exc.text, requests.RequestException)  # timeouts, refused or dropped connections
    return exc.status_code in RETRY_STATUSES
