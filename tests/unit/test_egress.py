"""The egress proxy's configuration: what it refuses, what an allow-list lets through."""

from __future__ import annotations

import ipaddress

import pytest

from tinirun.config import Config, ConfigError
from tinirun.runner.egress import (
    REFUSED_RANGES,
    AllowedHost,
    parse_allow_list,
    parse_ranges,
    proxy_env,
    squid_config,
    uncovered,
)


def _refused(config: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    line = next(x for x in config.splitlines() if x.startswith("acl refused dst "))
    return [ipaddress.ip_network(x) for x in line.split()[3:]]


def _covered(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip.version == n.version and ip in n for n in networks)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "172.17.0.1", "172.31.255.254",
    "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.254", "0.0.0.0", "224.0.0.1",
    "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd00::2", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe",
])
def test_private_loopback_link_local_cgnat_and_multicast_are_refused(address: str) -> None:
    assert _covered(address, _refused(squid_config(REFUSED_RANGES, ())))


@pytest.mark.parametrize("address", [
    "203.0.113.10",   # documentation range: where registries may resolve
    "198.51.100.7", "192.0.2.99", "8.8.8.8", "151.101.0.223", "2001:db8::1", "2a04:4e42::223",
])
def test_public_and_documentation_addresses_stay_allowed(address: str) -> None:
    assert not _covered(address, _refused(squid_config(REFUSED_RANGES, ())))


def test_default_rules_refuse_the_ranges_and_odd_ports() -> None:
    config = squid_config(REFUSED_RANGES, ())
    rules = [x for x in config.splitlines() if x.startswith("http_access")]
    assert rules == ["http_access deny !web_ports", "http_access deny CONNECT !tls_port",
                     "http_access deny refused", "http_access allow all"]


def test_the_host_addresses_and_extra_ranges_join_the_refused_list() -> None:
    extra = parse_ranges("198.51.100.0/24, 2001:db8:1::/48")
    ranges = [*REFUSED_RANGES, *extra]
    host = uncovered(["192.0.2.2", "172.17.0.1", "fe80::1", "fd00::2", "::1"], ranges)
    assert host == ["192.0.2.2"]  # the others are covered already
    networks = _refused(squid_config([*ranges, *host], ()))
    assert _covered("192.0.2.2", networks) and _covered("198.51.100.9", networks)
    assert not _covered("192.0.2.3", networks)


def test_an_allow_list_lets_through_only_what_it_names() -> None:
    allow = parse_allow_list("172.17.0.1:8080 mirror.internal, [fd00::5]:3141 10.0.0.0/8")
    assert allow == (AllowedHost("172.17.0.1", 8080), AllowedHost("mirror.internal"),
                     AllowedHost("fd00::5", 3141), AllowedHost("10.0.0.0/8"))
    lines = squid_config(REFUSED_RANGES, allow).splitlines()
    assert "acl allow0 dst 172.17.0.1" in lines
    assert "acl allow1 dstdomain mirror.internal" in lines
    assert "http_access allow allow0 allow0_port" in lines
    assert "http_access allow allow1 web_ports" in lines
    rules = [x for x in lines if x.startswith("http_access")]
    assert rules[-1] == "http_access deny all" and "http_access allow all" not in rules


@pytest.mark.parametrize("raw", ["host:0", "host:x", ":80", "host:99999"])
def test_bad_allow_list_entries_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_allow_list(raw)


def test_settings_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="RUNNER_INSTALL_REFUSED_RANGES"):
        Config.from_env({"RUNNER_API_KEY": "k", "RUNNER_INSTALL_REFUSED_RANGES": "nope"})
    with pytest.raises(ConfigError, match="RUNNER_INSTALL_ENV"):
        Config.from_env({"RUNNER_API_KEY": "k", "RUNNER_INSTALL_ENV": "no-equals"})
    config = Config.from_env({"RUNNER_API_KEY": "k", "RUNNER_INSTALLS": "false",
                              "RUNNER_INSTALL_ALLOW_HOSTS": "10.1.1.1:3141"})
    assert config.installs is False
    assert config.install_allow_hosts == (AllowedHost("10.1.1.1", 3141),)


def test_every_package_manager_gets_the_proxy() -> None:
    env = proxy_env("http://10.9.0.2:3128")
    for name in ("http_proxy", "https_proxy", "HTTPS_PROXY", "npm_config_https_proxy",
                 "CARGO_HTTP_PROXY"):
        assert env[name] == "http://10.9.0.2:3128"
    assert env["no_proxy"] == ""
