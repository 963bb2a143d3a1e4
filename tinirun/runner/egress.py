"""The way out of an install: an egress proxy (Debian's squid, in a small image built on our
base) on a Docker network that has no route anywhere else.

Install containers sit on an internal network, where the host has no address either; their
only peer there is the proxy, which is also on the engine's default bridge. Squid checks each
destination with `dst` ACLs on the address it resolved and then connects to (no DNS
rebinding) and refuses, by default, the ranges below plus the host's own addresses. An
allow-list (RUNNER_INSTALL_ALLOW_HOSTS) narrows it to the hosts it names, which may be
private addresses named explicitly (an internal mirror).

The ranges are listed one by one on purpose: Python's `ipaddress.is_private` and `is_global`
also flag documentation ranges, where registries can legitimately resolve.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import ipaddress
import logging
import os
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from tinirun.engine.docker import Engine
from tinirun.errors import EngineError
from tinirun.labels import KIND, SERVICE, Kind

log = logging.getLogger(__name__)

PROXY_PORT = 3128
REFUSED_RANGES: tuple[str, ...] = (
    "0.0.0.0/8",        # unspecified, "this network"
    "127.0.0.0/8",      # loopback
    "10.0.0.0/8",       # RFC 1918
    "172.16.0.0/12",    # RFC 1918 (Docker's own networks live here and below)
    "192.168.0.0/16",   # RFC 1918
    "100.64.0.0/10",    # CGNAT
    "169.254.0.0/16",   # link-local (cloud metadata)
    "192.0.0.0/24",     # IETF protocol assignments
    "198.18.0.0/15",    # benchmarking
    "224.0.0.0/4",      # multicast
    "240.0.0.0/4",      # reserved, broadcast
    "::/128",           # unspecified
    "::1/128",          # loopback
    "::ffff:0:0/96",    # IPv4-mapped (would bypass the IPv4 list)
    "64:ff9b::/96",     # NAT64 (likewise)
    "fc00::/7",         # unique-local
    "fe80::/10",        # link-local
    "ff00::/8",         # multicast
)
PROXY_DOCKERFILE = """ARG BASE=tinirun-base:trixie
FROM ${BASE}
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends squid \\
 && rm -rf /var/lib/apt/lists/*
"""
# Squid gets its configuration from the environment, so the image holds none of ours.
PROXY_COMMAND = ["/bin/sh", "-c",
                 'printf "%s\\n" "$TINIRUN_SQUID_CONF" > /tmp/squid.conf '
                 "&& exec squid -N -f /tmp/squid.conf"]


@dataclass(frozen=True)
class AllowedHost:
    """One allow-list entry: a host name or address (or network), and optionally a port."""

    host: str
    port: int | None = None

    @property
    def is_address(self) -> bool:
        try:
            ipaddress.ip_network(self.host, strict=False)
        except ValueError:
            return False
        return True


def parse_allow_list(raw: str) -> tuple[AllowedHost, ...]:
    """`host`, `host:port`, `[v6]:port` or `cidr` entries, comma or space separated."""
    entries = []
    for item in raw.replace(",", " ").split():
        port: str | None
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = rest.lstrip(":") or None
        elif item.count(":") == 1:
            host, port = item.split(":")
        else:
            host, port = item, None
        if not host:
            raise ValueError(f"empty host in {item!r}")
        if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"bad port in {item!r}")
        entries.append(AllowedHost(host.lower(), int(port) if port else None))
    return tuple(entries)


def parse_ranges(raw: str) -> tuple[str, ...]:
    """Extra refused networks, comma or space separated."""
    return tuple(str(ipaddress.ip_network(item, strict=False))
                 for item in raw.replace(",", " ").split())


def host_addresses() -> list[str]:
    """This machine's own addresses (its interfaces') and the engine's, when remote."""
    found: set[str] = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            try:  # SIOCGIFADDR
                packed = fcntl.ioctl(probe.fileno(), 0x8915,
                                     struct.pack("256s", name.encode()[:15]))
                found.add(socket.inet_ntoa(packed[20:24]))
            except OSError:
                continue
    try:
        with open("/proc/net/if_inet6") as lines:
            for line in lines:
                raw = line.split()[0]
                found.add(str(ipaddress.IPv6Address(bytes.fromhex(raw))))
    except OSError:
        pass
    docker_host = os.environ.get("DOCKER_HOST", "")
    if docker_host.startswith(("tcp://", "ssh://", "http://", "https://")):
        engine_host = urlparse(docker_host).hostname
        if engine_host:
            try:
                for info in socket.getaddrinfo(engine_host, None):
                    found.add(str(info[4][0]))
            except OSError:
                pass
    return sorted(found)


def uncovered(addresses: Sequence[str], ranges: Sequence[str]) -> list[str]:
    """The addresses no range covers (the host's public ones): the proxy's list stays the same
    while containers come and go (their veth link-local addresses are covered already)."""
    networks = [ipaddress.ip_network(r) for r in ranges]
    return [a for a in addresses
            if not any(ipaddress.ip_address(a) in n for n in networks
                       if n.version == ipaddress.ip_address(a).version)]


def squid_config(refused: Sequence[str], allow: Sequence[AllowedHost],
                 port: int = PROXY_PORT) -> str:
    """The proxy's whole configuration: what it refuses and what it lets through."""
    lines = [
        f"http_port {port}",
        "pid_filename none",
        "cache deny all",
        "cache_mem 0 MB",
        "access_log stdio:/dev/stdout",
        "cache_log /dev/stderr",
        "coredump_dir /tmp",
        "shutdown_lifetime 1 seconds",
        "forwarded_for delete",
        "via off",
        "acl web_ports port 80 443",
        "acl tls_port port 443",
        "acl CONNECT method CONNECT",
        "acl refused dst " + " ".join(refused),
    ]
    for index, entry in enumerate(allow):
        kind = "dst" if entry.is_address else "dstdomain"
        lines.append(f"acl allow{index} {kind} {entry.host}")
        rule = f"http_access allow allow{index}"
        if entry.port is not None:
            lines.append(f"acl allow{index}_port port {entry.port}")
            rule += f" allow{index}_port"
        else:
            rule += " web_ports"
        lines.append(rule)
    if allow:
        lines.append("http_access deny all")
    else:
        lines += [
            "http_access deny !web_ports",
            "http_access deny CONNECT !tls_port",
            "http_access deny refused",
            "http_access allow all",
        ]
    return "\n".join(lines) + "\n"


def proxy_env(url: str) -> dict[str, str]:
    """Environment that sends pip, npm, apt, go and cargo through the proxy."""
    env = {}
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "npm_config_proxy", "npm_config_https_proxy", "CARGO_HTTP_PROXY"):
        env[name] = url
    env["no_proxy"] = env["NO_PROXY"] = ""
    return env


class EgressProxy:
    """Starts (once) and finds the proxy and the internal network installs use."""

    def __init__(self, engine: Engine, image: str, refused: Sequence[str],
                 allow: Sequence[AllowedHost], labels: dict[str, str] | None = None) -> None:
        self.engine = engine
        self.image = image
        self.config = squid_config(refused, allow)
        digest = hashlib.sha256(f"{image}\0{self.config}".encode()).hexdigest()[:12]
        self.network = f"tinirun-install-{digest}"
        self.name = f"tinirun-proxy-{digest}"
        self.labels = {KIND: Kind.PROXY.value, **(labels or {})}
        self._lock = asyncio.Lock()
        self._url: str | None = None

    async def url(self) -> str:
        """The proxy's URL on the install network, starting network and proxy if needed."""
        async with self._lock:
            if self._url is not None and await self.engine.is_running(self.name):
                return self._url
            await self.engine.ensure_network(
                self.network, labels=self.labels, internal=True,
                # The host takes no address on this network: nothing of it to reach.
                options={"com.docker.network.bridge.inhibit_ipv4": "true",
                         "com.docker.network.bridge.enable_ip_masquerade": "false"},
            )
            if not await self.engine.is_running(self.name):
                await self._start()
            address = await self.engine.container_address(self.name, self.network)
            if not address:
                raise EngineError(f"The install proxy {self.name} has no address on "
                                  f"{self.network}")
            self._url = f"http://{address}:{PROXY_PORT}"
            return self._url

    async def _start(self) -> None:
        config = {
            "Image": self.image,
            "Cmd": PROXY_COMMAND,
            "Entrypoint": [],
            "User": "proxy",
            "Env": [f"TINIRUN_SQUID_CONF={self.config}"],
            "Labels": {SERVICE: "1", **self.labels},
            "HostConfig": {
                "NetworkMode": "bridge",
                "ReadonlyRootfs": True,
                "Tmpfs": {"/tmp": "rw,noexec,nosuid,nodev,size=16m",
                          "/run": "rw,noexec,nosuid,nodev,size=1m",
                          "/var/log/squid": "rw,noexec,nosuid,nodev,size=1m",
                          "/var/spool/squid": "rw,noexec,nosuid,nodev,size=1m"},
                "Memory": 256 * 1024 * 1024,
                "MemorySwap": 256 * 1024 * 1024,
                "PidsLimit": 64,
                "NanoCpus": 1_000_000_000,
                "CapDrop": ["ALL"],
                "SecurityOpt": ["no-new-privileges"],
                "RestartPolicy": {"Name": "unless-stopped"},
                "LogConfig": {"Type": "json-file",
                              "Config": {"max-size": "1m", "max-file": "1"}},
            },
        }
        await self.engine.start_named(self.name, config, networks=[self.network])
        log.info("install proxy %s started on %s", self.name, self.network)

    async def remove(self) -> None:
        """Remove the proxy and its network (tests that made their own)."""
        await self.engine.remove_container(self.name)
        await self.engine.remove_network(self.network)
