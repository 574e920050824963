"""Where webhooks may go: http(s) to public addresses only, unless an operator allow-lists a network.

A receiver's name is resolved when the connection is made and every address it resolves to
is checked; the connection then goes to the checked address, so a name that resolves
differently a moment later (DNS rebinding) cannot slip through. Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedTargetError(httpx.TransportError):
    """The receiver's address is not public and not allow-listed."""


def address_allowed(address: IPAddress, allowed_networks: Sequence[IPNetwork]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if any(address in network for network in allowed_networks):
        return True
    return address.is_global and not address.is_multicast


def _addresses(host: str, port: int | None, *, numeric_only: bool) -> list[IPAddress]:
    flags = socket.AI_NUMERICHOST if numeric_only else 0
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=flags)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def url_problem(url: str, allowed_networks: Sequence[IPNetwork]) -> str | None:
    """Why `url` cannot be a webhook target, judged without DNS (names are checked when delivering)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"not a valid URL ({exc})"
    if parsed.scheme not in ("http", "https"):
        return "only http and https URLs are allowed"
    host = parsed.host
    if not host:
        return "the URL has no host"
    if host == "localhost" or host.endswith(".localhost"):
        host = "127.0.0.1"
    try:
        # Numeric hosts in any spelling the resolver accepts: 0x7f000001, 2130706433, 127.1, ::1.
        addresses = _addresses(host, parsed.port, numeric_only=True)
    except (socket.gaierror, UnicodeError, ValueError):
        return None  # a name
    if not all(address_allowed(address, allowed_networks) for address in addresses):
        return "the address is not public (allow-list its network in TECHMATCH_WEBHOOK_ALLOWED_NETWORKS)"
    return None


class _CheckedBackend(httpcore.SyncBackend):
    """Resolves the receiver's name, refuses non-public addresses and connects to a checked one."""

    def __init__(self, allowed_networks: Sequence[IPNetwork]) -> None:
        self.allowed_networks = allowed_networks

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = _addresses(host, port, numeric_only=False)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
        if not addresses or not all(address_allowed(a, self.allowed_networks) for a in addresses):
            raise BlockedTargetError(f"{host!r} resolves to an address that is not public")
        return super().connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)


def webhook_client(*, timeout: float, allowed_networks: Sequence[IPNetwork]) -> httpx.Client:
    """An HTTP client that only reaches allowed addresses, follows no redirects and ignores proxy
    variables (a proxy would make the address check meaningless)."""
    transport = httpx.HTTPTransport()
    # httpx exposes no option for the network backend; its connection pool takes one.
    transport._pool._network_backend = _CheckedBackend(allowed_networks)
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)
