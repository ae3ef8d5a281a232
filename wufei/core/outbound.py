"""Requests the platform makes to addresses its users give it (webhooks): only to the public internet.

An address a user registers could otherwise make the server call its own neighbours: the loopback interface,
the private network, a cloud's metadata service (169.254.169.254, Alibaba Cloud's 100.100.100.200) — and
report back what answered. So every outbound request goes through this module:

- `check_url(url)` when the address is registered: the host is resolved and every address it resolves to must
  be public. A literal address in any spelling counts (`0x7f000001`, `2130706433`, `017700000001`, `127.1`,
  `[::1]`, `[::ffff:127.0.0.1]`): numeric hosts are read the way the C resolver reads them, then checked.
- `post_json(url, payload)` when sending: the host is resolved and checked again, and the connection goes to
  the address that was checked (a name that resolved to a public address a minute ago and to 127.0.0.1 now
  — DNS rebinding — is refused, not re-resolved behind our back). Redirects are never followed.

Refused: loopback, private (RFC 1918, IPv6 unique local), link-local (and so the metadata address),
shared/CGNAT 100.64.0.0/10, multicast, unspecified, reserved and documentation ranges — whatever Python's
`ipaddress` says is not global, plus multicast — and IPv6 forms that carry such an IPv4 address (mapped,
6to4, NAT64, Teredo).

`settings.OUTBOUND_ALLOW` (env `WUFEI_OUTBOUND_ALLOW`, comma-separated host names and CIDRs, empty by
default) lets an intranet (or a test) reach listed hosts or networks anyway.

A failed send is told to the user in one generic sentence whatever happened below (refused, reset, timed out,
no route): a distinction there would let anyone map which ports of a host are open. The log has the detail.
"""

import http.client
import ipaddress
import json
import logging
import socket
import ssl
import urllib.parse

from django.conf import settings

log = logging.getLogger(__name__)

CONNECT_FAILED = "could not connect to the address"
NOT_ALLOWED = "the address is not on the public internet"
NOT_RESOLVED = "the host name could not be resolved"

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_EXTRA_BLOCKED = [ipaddress.ip_network(n) for n in ("100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15")]


class Refused(Exception):
    """The address may not be called; `reason` is one of NOT_ALLOWED / NOT_RESOLVED (safe to show)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address) -> bool:
    """Whether an address (ipaddress object or text) is a public unicast address."""
    address = ipaddress.ip_address(address)
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public(embedded):
            return False
    if address.is_multicast or address.is_unspecified or address.is_loopback or address.is_link_local \
            or address.is_private or address.is_reserved or not address.is_global:
        return False
    return not any(address in network for network in _EXTRA_BLOCKED if network.version == address.version)


def _allow_list():
    hosts, networks = set(), []
    for entry in getattr(settings, "OUTBOUND_ALLOW", []) or []:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            hosts.add(entry.lower().rstrip("."))
    return hosts, networks


def _numeric_host(host: str):
    """The address a numeric host stands for (any spelling the C resolver accepts), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))  # 0x7f000001, 2130706433, 017700000001, 127.1
    except (OSError, UnicodeError, ValueError):
        return None


def resolve(host: str, port: int) -> list[str]:
    """The addresses to connect to for host:port, every one of them allowed; Refused otherwise."""
    host = host.lower().rstrip(".")
    allowed_hosts, allowed_networks = _allow_list()
    numeric = _numeric_host(host)
    if numeric is not None:
        candidates = [numeric]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise Refused(NOT_RESOLVED, f"{host}: {exc}") from exc
        candidates = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        if not candidates:
            raise Refused(NOT_RESOLVED, host)
    if host in allowed_hosts:
        return [str(a) for a in candidates]
    for address in candidates:
        if not is_public(address) and not any(address in net for net in allowed_networks
                                              if net.version == address.version):
            raise Refused(NOT_ALLOWED, f"{host} resolves to {address}")
    return [str(a) for a in candidates]


def _parts(url: str):
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise Refused(NOT_ALLOWED, f"not an http(s) address: {url!r}")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise Refused(NOT_ALLOWED, str(exc)) from exc
    return parts, scheme, parts.hostname, port


def check_url(url: str, *, must_resolve: bool = False) -> None:
    """Refused unless the URL's host is (or resolves only to) allowed addresses.

    A name that does not resolve now passes unless `must_resolve`: it is checked again before each send.
    """
    _, _, host, port = _parts(url)
    try:
        resolve(host, port)
    except Refused as exc:
        if exc.reason == NOT_RESOLVED and not must_resolve:
            return
        raise


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post_json(url: str, payload, *, headers: dict | None = None, timeout: float = 5) -> int:
    """POST JSON to the URL at an address checked now; the HTTP status (redirects are answers, not followed).

    Raises Refused for an address that may not be called, ConnectionFailed when nothing usable answered.
    """
    parts, scheme, host, port = _parts(url)
    address = resolve(host, port)[0]
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    connection_class = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    connection = connection_class(host, port, address, timeout)
    body = json.dumps(payload).encode()
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
        return connection.getresponse().status
    except (OSError, http.client.HTTPException, ValueError) as exc:
        log.warning("outbound POST to %s (%s) failed: %s: %s", url, address, type(exc).__name__, exc)
        raise ConnectionFailed(CONNECT_FAILED) from exc
    finally:
        connection.close()


class ConnectionFailed(Exception):
    """Nothing usable answered (refused, reset, timed out, TLS failed …): one message for all of them."""
