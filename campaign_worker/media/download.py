"""Getting a picture's bytes: a capped https download that never reaches a private address.

`MediaFetchError` is also what `MediaStore.store_file` raises for a local file it cannot read.
"""

from __future__ import annotations

import ipaddress
import time
from urllib.parse import urljoin, urlsplit

import requests

from campaign_worker.errors import CampaignWorkerError
from campaign_worker.media.images import MediaLimits, human_size

_READ_CHUNK = 64 * 1024
_MAX_REDIRECTS = 5
_REDIRECT_STATUSES = {301, 302, 303, 307, 308}


class MediaFetchError(CampaignWorkerError):
    """Getting the bytes failed (download or local file); `code` says how, `retryable` whether to try later."""

    def __init__(self, code: str, de: str, en: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(f"{code}: {de} / {en}")
        self.code = code
        self.message_de = de
        self.message_en = en
        self.status = status
        self.retryable = retryable


def _check_url(url: str) -> None:
    """Only https, and never to this machine or a private network named by its address."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme != "https" or not host:
        raise MediaFetchError("not_https", f"Nur https-Adressen werden geladen: {url[:200]}",
                              f"Only https URLs are fetched: {url[:200]}")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost") or (
        address is not None and not address.is_global
    ):
        raise MediaFetchError("private_address", f"Adresse im lokalen Netz wird nicht geladen: {host}",
                              f"Refusing a local or private address: {host}")


def fetch_bytes(session: requests.Session, url: str, limits: MediaLimits = MediaLimits()) -> bytes:
    """Download one picture over https with a byte cap and timeouts; raises `MediaFetchError`.

    Redirects are followed by hand (at most five) so that every hop is checked to be https.
    Not retried here: `MediaFetchError.retryable` tells the caller whether trying later makes sense.
    """
    deadline = time.monotonic() + limits.total_timeout
    for _ in range(_MAX_REDIRECTS + 1):
        _check_url(url)
        try:
            response = session.get(url, stream=True, allow_redirects=False,
                                   timeout=(limits.connect_timeout, limits.read_timeout))
        except requests.Timeout as exc:
            raise MediaFetchError("timeout", f"Zeitüberschreitung beim Laden von {url[:200]}",
                                  f"Timed out fetching {url[:200]}", retryable=True) from exc
        except requests.RequestException as exc:
            raise MediaFetchError("connection", f"Verbindung fehlgeschlagen: {url[:200]} ({type(exc).__name__})",
                                  f"Connection failed: {url[:200]} ({type(exc).__name__})", retryable=True) from exc
        with response:
            if response.status_code in _REDIRECT_STATUSES and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                continue
            return _read_capped(response, url, limits, deadline)
    raise MediaFetchError("too_many_redirects", f"Zu viele Weiterleitungen: {url[:200]}",
                          f"Too many redirects: {url[:200]}")


def _read_capped(response: requests.Response, url: str, limits: MediaLimits, deadline: float) -> bytes:
    status = response.status_code
    if status != 200:
        retryable = status in (408, 425, 429) or status >= 500
        raise MediaFetchError(f"http_{status}", f"Server antwortet {status} für {url[:200]}",
                              f"Server answered {status} for {url[:200]}", status=status, retryable=retryable)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise _fetch_too_large(url, int(declared), limits)
    buffer = bytearray()
    try:
        for chunk in response.iter_content(_READ_CHUNK):
            buffer += chunk
            if len(buffer) > limits.max_bytes:
                raise _fetch_too_large(url, len(buffer), limits, at_least=True)
            if time.monotonic() > deadline:
                raise MediaFetchError("timeout", f"Download dauert zu lange: {url[:200]}",
                                      f"Download took too long: {url[:200]}", retryable=True)
    except requests.RequestException as exc:
        raise MediaFetchError("connection", f"Download abgebrochen: {url[:200]} ({type(exc).__name__})",
                              f"Download interrupted: {url[:200]} ({type(exc).__name__})", retryable=True) from exc
    return bytes(buffer)


def _fetch_too_large(url: str, size: int, limits: MediaLimits, at_least: bool = False) -> MediaFetchError:
    more = "mehr als " if at_least else ""
    more_en = "more than " if at_least else ""
    return MediaFetchError(
        "too_large",
        f"Datei zu groß ({more}{human_size(size)}, erlaubt {human_size(limits.max_bytes)}): {url[:200]}",
        f"File too large ({more_en}{human_size(size)}, limit {human_size(limits.max_bytes)}): {url[:200]}",
    )
