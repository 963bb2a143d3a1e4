"""The install step as an attacker would use it: a hostile sdist and a hostile npm package.

Served as URLs, they are refused before anything runs. Served from a local package index and
registry (which the service reaches only because the allow-list names it), their install-time
code runs: as uid 1000 with no capabilities and no-new-privileges, under memory and pids
limits, with no route to the host, the gateway, a private or a link-local address (directly
or through the proxy), no write past the disk cap, and stopped at the build's time limit.
Each probe reports what it saw on stderr; the failed build's log carries it back.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.hostile.harness import Hostile
from tests.hostile.packages import BUILD_TIMEOUT, DISK_MB, MARK, Index, index, installs

__all__ = ["index", "installs"]


def _probe_report(outcome_last: dict[str, Any]) -> dict[str, Any]:
    data = outcome_last["data"]
    assert outcome_last["event"] == "error" and data["error"] == "build_failed", data
    for line in (data.get("logs") or "").splitlines():
        if MARK in line:
            report: dict[str, Any] = json.loads(line.split(MARK, 1)[1])
            return report
    raise AssertionError(f"no probe report in the build log: {data.get('logs', '')[-3000:]}")


@pytest.mark.parametrize(("lang", "url"), [
    ("python", "/files/hostile_probe-1.0.tar.gz"),
    ("python", "hostile-probe @ URL"),
    ("javascript", "/files/hostile-npm-1.0.0.tgz"),
])
def test_archives_named_by_url_are_refused_before_anything_runs(
        installs: Hostile, index: Index, lang: str, url: str) -> None:
    dep = url.replace(" @ URL", "@" + index.url("/files/hostile_probe-1.0.tar.gz")) \
        if "@ URL" in url else index.url(url)
    before = len(index.requests)
    with installs.server.client() as client:
        response = client.post("/api/code/run", json={"lang": lang, "code": "1",
                                                      "dependencies": [dep]})
    assert response.status_code == 400, response.text
    assert dep in response.text  # the message names the entry
    assert index.requests[before:] == []


def _check_confined(report: dict[str, Any], index: Index) -> None:
    assert report["uid"] == 1000 and report["gid"] == 1000
    assert int(report["cap_eff"], 16) == 0
    assert report["no_new_privs"] == "1"
    # Directly: no route to the host, the gateway, a private or a link-local address.
    assert all(v != "connected" for v in report["direct"].values()), report["direct"]
    proxy = report["proxy"]
    # Through the proxy: only the allow-listed index answers; everything else is refused.
    assert proxy.pop(index.url("/ping")) == 200, report["proxy"]
    assert all(v == 403 for v in proxy.values()), proxy


def test_sdist_install_code_is_unprivileged_limited_and_has_no_way_out(
        installs: Hostile, index: Index) -> None:
    body = {"lang": "python", "code": "print(1)", "timeout": 5,
            "dependencies": ["hostile-probe==1.0"]}
    outcome = installs.survive(body, name="install-sdist", min_probes=0)
    report = _probe_report(outcome.last)
    _check_confined(report, index)
    assert report["dns"] == "gaierror", report["dns"]
    assert report["pids_max"] not in (None, "max")
    assert int(report["memory_max"]) <= 512 * 1024 * 1024
    # No write past the disk cap; nothing outside the install prefix.
    state, written = report["write_prefix"]
    assert state in ("ENOSPC", "EFBIG") and written <= DISK_MB, report["write_prefix"]
    assert report["write_root"][0] in ("EROFS", "EACCES"), report["write_root"]


def test_npm_postinstall_is_unprivileged_and_has_no_way_out(
        installs: Hostile, index: Index) -> None:
    body = {"lang": "javascript", "code": "1", "timeout": 5, "dependencies": ["hostile-npm"]}
    outcome = installs.survive(body, name="install-npm", min_probes=0)
    _check_confined(_probe_report(outcome.last), index)


def test_an_install_that_hangs_is_stopped_at_the_build_time_limit(
        installs: Hostile, index: Index) -> None:
    pings = index.requests.count("/ping")
    body = {"lang": "python", "code": "print(1)", "timeout": 5,
            "dependencies": ["hostile-sleep==1.0"]}
    outcome = installs.survive(body, name="install-sleep", min_probes=0)
    data = outcome.last["data"]
    assert outcome.last["event"] == "error" and data["error"] == "build_failed", data
    assert f"timed out after {BUILD_TIMEOUT} s" in data["message"]
    # It did run (its probe reached the index), and was stopped: not refused earlier.
    assert index.requests.count("/ping") > pings


def test_installs_can_be_turned_off(make: Any) -> None:
    server = make(RUNNER_INSTALLS="false")
    server.start()
    with server.client() as client:
        response = client.post("/api/code/run", json={"lang": "python", "code": "1",
                                                      "dependencies": ["six"]})
        plain = client.post("/api/code/run", json={"lang": "bash", "code": "echo ok"})
    assert response.status_code == 400 and "turned off" in response.text
    assert "ok\\n" in plain.text
