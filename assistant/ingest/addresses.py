"""Where a fetch may connect: no server-side request forgery by default.

A page the user gives may be anywhere the user chooses, an intranet server or this
machine included. What a server says next is not the user's choice: a redirect, or a
feed's entry, that leads to this machine (loopback), the cloud's metadata service
(link-local 169.254.x.x) or the local network (RFC 1918, fc00::/7) would let any page
on the web read what only this machine can reach, and the index would then serve it.
Those are refused unless ``--allow-private-urls`` says otherwise.

The check runs after DNS resolution, on every address the name resolves to, and again
on the address the connection actually reached (a name that resolves to a public
address for the check and to a private one for the connection is caught there),
before the request is sent. It hooks in through httpcore's ``trace`` extension, so
the connection is httpx's own.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

ALLOW_OPTION = "--allow-private-urls"


class PrivateAddressRefused(Exception):
    """A connection to a private address that this fetch may not make; the fetcher
    words it for the URL (see :func:`refusal`)."""

    def __init__(self, host: str, address: str, kind: str) -> None:
        where = f"{address} is" if host == address else f"{host} resolves to {address},"
        super().__init__(f"{where} a {kind} address")
        self.host = host
        self.address = address
        self.kind = kind


def address_kind(address: str) -> str | None:
    """None for a public address; else what it is ("loopback", "link-local",
    "private", …). An IPv4 address written as IPv6 (``::ffff:127.0.0.1``) is judged
    as the IPv4 one."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id aside
    except ValueError:
        return "unparsable"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, test in _KINDS:
        if test(ip):
            return kind
    return None if ip.is_global else "non-public"


_KINDS: tuple[tuple[str, Callable], ...] = (
    ("loopback", lambda ip: ip.is_loopback),
    ("link-local", lambda ip: ip.is_link_local),
    ("unspecified", lambda ip: ip.is_unspecified),
    ("multicast", lambda ip: ip.is_multicast),
    ("private", lambda ip: ip.is_private),
)


def resolved_addresses(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (itself when it is one); [] when it does
    not resolve (the connection then fails with the resolver's own error)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def origin(url: str) -> tuple[str, int] | None:
    """(host, port) as the connection sees them: lower case, the default port filled."""
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return None
    default = 443 if parsed.scheme == "https" else 80
    return parsed.host.lower(), parsed.port or default


@dataclass
class AddressPolicy:
    """One write's rule for private addresses, and what it noted: a private address
    fetched because the user gave that URL (or allowed private URLs) is said."""

    allow_private: bool = False
    notes: list[str] = field(default_factory=list)

    def hop(self, url: str, current: str, trusted: str) -> Callable[[str, dict], None]:
        """The httpcore trace hook that checks the connection for ``current``, one hop
        of the fetch of ``url``. Private addresses pass when they are allowed, or when
        ``current`` is on the server of ``trusted``, the URL the user gave."""
        given = origin(current) is not None and origin(current) == origin(trusted)
        if self.allow_private:
            return _HopCheck(self, url, permitted=True, why=f"{ALLOW_OPTION} was given")
        # Said once, of the URL the user gave (a feed's many articles on its server too).
        return _HopCheck(self, trusted, permitted=given, why="it was given")

    def note(self, url: str, refused: PrivateAddressRefused, why: str) -> None:
        line = f"{url}: {refused}; fetched because {why}"
        if line not in self.notes:
            self.notes.append(line)


@dataclass
class _HopCheck:
    policy: AddressPolicy
    url: str  # what a note is said of
    permitted: bool
    why: str
    host: str = ""

    def __call__(self, event: str, info: dict) -> None:
        if event == "connection.connect_tcp.started":
            self.host = str(info["host"])
            for address in resolved_addresses(self.host, int(info["port"])):
                self._check(self.host, address)
        elif event == "connection.connect_tcp.complete":
            stream = info["return_value"]
            peer = stream.get_extra_info("server_addr")
            if peer:
                try:
                    self._check(self.host or str(peer[0]), str(peer[0]))
                except PrivateAddressRefused:
                    stream.close()  # the request is never sent
                    raise

    def _check(self, host: str, address: str) -> None:
        kind = address_kind(address)
        if kind is None:
            return
        refused = PrivateAddressRefused(host, address, kind)
        if not self.permitted:
            raise refused
        self.policy.note(self.url, refused, self.why)


def refusal(url: str, current: str, refused: PrivateAddressRefused) -> str:
    """The skipped line's reason: which hop led where, and how to allow it."""
    where = "" if current == url else f"redirected to {current}, "
    return (
        f"{url}: {where}{refused}: refused (a server may not send the fetch to a"
        f" private address; {ALLOW_OPTION} allows it)"
    )


def both(*hooks: Callable[[str, dict], None]) -> Callable[[str, dict], None]:
    """One trace hook that calls each of ``hooks`` in turn."""

    def call(event: str, info: dict) -> None:
        for hook in hooks:
            hook(event, info)

    return call
