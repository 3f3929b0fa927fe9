"""Where requests may go: Mailchimp's API host for the key (or a loopback sandbox), and batch results URLs; and
how a URL is shown in a message (host and path only: a query string may hold a signature)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from opus1_integrations.api import SettingsInvalid

from .errors import KEY_HINT, UNSAFE_URL, ApiError, shown

API_KEY = re.compile(r"^[0-9a-f]{32}-(?P<dc>[a-z]{2}[0-9]{1,3})$")
SHOWN_URL_MAX = 160


def base_url(api_key: str, api_url: str | None = None) -> str:
    """The only base URL requests may go to: ``https://<dc>.api.mailchimp.com/3.0``, or a loopback sandbox."""
    match = API_KEY.match(api_key or "")
    if not match:
        raise SettingsInvalid("the Mailchimp API key is not in Mailchimp's format", hint=KEY_HINT)
    if api_url is None:
        return f"https://{match['dc']}.api.mailchimp.com/3.0"
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not is_loopback(parts.hostname) or parts.path.rstrip("/") != "/3.0":
        raise SettingsInvalid(
            f"--api-url {api_url} is not a loopback sandbox URL",
            hint="--api-url is only for the local sandbox, e.g. http://127.0.0.1:8465/3.0; "
            "leave it out to use Mailchimp itself",
        )
    return api_url.rstrip("/")


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address."""
    try:
        return host == "localhost" or ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def results_url(url: str, api_base: str) -> str:
    """Host and path of a batch results URL that may be fetched: ``https`` to a public host, or, only when the API
    is a loopback sandbox, ``http``/``https`` to a loopback address. An ``ApiError`` for any other."""
    where = shown_url(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    ok = bool(host) and not parts.username and not parts.password
    if is_loopback(urlsplit(api_base).hostname):
        ok = ok and parts.scheme in ("http", "https") and is_loopback(host)
    else:
        ok = ok and parts.scheme == "https" and _public(host)
    if not ok:
        raise ApiError(None, "Unsafe batch results URL",
                       f"Mailchimp named {shown(parts.scheme, 20)}://{where} for the batch results; only https "
                       "(or the loopback sandbox's own address) is fetched", [], UNSAFE_URL, where)
    return where


def shown_url(url: str) -> str:
    """Host and path of ``url`` for a message: no scheme, credentials, query or fragment; escaped and bounded."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        host += f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number
        pass
    return shown(host + parts.path, SHOWN_URL_MAX)


def _public(host: str) -> bool:
    """A host name, or an address on the public internet (not loopback, private or link-local)."""
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return host != "localhost"
