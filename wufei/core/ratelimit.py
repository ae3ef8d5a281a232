"""Counting what a client does in a time window, shared by every process (the Django cache, settings.CACHES).

The cache is the database's own table on the embedded install and Redis when the queue is on Redis, so the
web processes of a deployment (and its machines) count together; a restart forgets nothing. Windows are fixed
(the current hour, say): a client that used its allowance waits for the next window.
"""

import hashlib
import ipaddress
import time

from django.conf import settings
from django.core.cache import cache


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or behind the TLS proxy (WUFEI_HTTPS=1) the address the proxy
    appended last to X-Forwarded-For (what nginx's `proxy_add_x_forwarded_for` does)."""
    if getattr(settings, "HTTPS", False):
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded and forwarded[-1]:
            return forwarded[-1][:64]
    return request.META.get("REMOTE_ADDR") or "unknown"


def client_ip(request) -> str | None:
    """`client_address` when it is an IP address, else None (the login lockout stores it in an address column;
    a request made inside the process, such as a test client's forced login, has none)."""
    address = client_address(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def take(bucket: str, client: str, *, limit: int, window: int) -> bool:
    """Count one more for `client` in `bucket` in the current window; False once the count passes `limit`."""
    slot = int(time.time() // window)
    key = f"wufei:rate:{bucket}:{hashlib.sha256(client.encode()).hexdigest()[:32]}:{slot}"
    if cache.add(key, 1, window):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, window)
            count = 1
        cache.touch(key, window)  # some backends' incr rewrites the entry with the default expiry
    return count <= limit
