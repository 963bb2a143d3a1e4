"""Hostile packages for the install suites: a hostile sdist and a hostile npm package whose
install-time code probes what it can reach and do, served by a package index and an npm
registry on the host; and a server whose allow-list names that index (and nothing else).
Each probe reports what it saw on stderr, where the failed build's log carries it back.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import ipaddress
import json
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.harness import Hostile
from tests.integration.server import Server, make_server
from tinirun.runner.egress import host_addresses

DISK_MB = 64
BUILD_TIMEOUT = 40
MARK = "TINIRUN-PROBE "

# Runs inside the install container, at pip's first call into the sdist's build backend.
PY_PROBE = r'''
import errno, json, os, socket, sys, time, urllib.request
out = {"uid": os.getuid(), "gid": os.getgid()}
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
out["cap_eff"] = status["CapEff"].strip()
out["no_new_privs"] = status["NoNewPrivs"].strip()
def first(*paths):
    for p in paths:
        try:
            return open(p).read().strip()
        except OSError:
            pass
out["pids_max"] = first("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max")
out["memory_max"] = first("/sys/fs/cgroup/memory.max",
                          "/sys/fs/cgroup/memory/memory.limit_in_bytes")
out["routes"] = open("/proc/net/route").read().splitlines()[1:]
def direct(host, port):
    try:
        socket.create_connection((host, port), timeout=3).close()
        return "connected"
    except OSError as exc:
        return type(exc).__name__
out["direct"] = {f"{h}:{p}": direct(h, p) for h, p in TARGETS}
try:  # no resolver of outside names on the install network
    out["dns"] = str(socket.getaddrinfo("example.com", 80)[0][4])
except OSError as exc:
    out["dns"] = type(exc).__name__
# The network's own gateway, if the table names one: an address of nobody's.
for line in out["routes"]:
    fields = line.split()
    if fields[1] == "00000000" and fields[2] != "00000000":
        import struct
        gateway = socket.inet_ntoa(struct.pack("<L", int(fields[2], 16)))
        for port in (TARGETS[0][1], 22, 80, 2375):
            out["direct"][f"{gateway}:{port}"] = direct(gateway, port)
proxy = os.environ.get("http_proxy", "")
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy}))
def via_proxy(url):
    try:
        return opener.open(url, timeout=10).status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError as exc:
        return type(exc).__name__
out["proxy"] = {url: via_proxy(url) for url in PROXY_URLS}
def fill(path, mb):
    written = 0
    try:
        with open(path, "wb") as f:
            block = b"x" * (1024 * 1024)
            for _ in range(mb):
                f.write(block)
                f.flush()
                written += 1
        return ["ok", written]
    except OSError as exc:
        return [errno.errorcode.get(exc.errno, str(exc.errno)), written]
out["write_prefix"] = fill("/opt/tinirun/fill", DISK_MB + 16)
os.remove("/opt/tinirun/fill") if os.path.exists("/opt/tinirun/fill") else None
out["write_root"] = fill("/usr/fill", 1)
print("MARK" + json.dumps(out), file=sys.stderr, flush=True)
if "SLEEP" == "yes":
    time.sleep(3600)
sys.exit(3)
'''

NPM_PROBE = r'''
const fs = require("fs"), net = require("net"), http = require("http");
const out = {uid: process.getuid(), gid: process.getgid()};
const status = fs.readFileSync("/proc/self/status", "utf8");
out.cap_eff = /CapEff:\s*(\S+)/.exec(status)[1];
out.no_new_privs = /NoNewPrivs:\s*(\S+)/.exec(status)[1];
function direct(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({host, port, timeout: 3000});
    s.on("connect", () => { s.destroy(); resolve("connected"); });
    s.on("timeout", () => { s.destroy(); resolve("timeout"); });
    s.on("error", (e) => resolve(e.code));
  });
}
function viaProxy(url) {
  const proxy = new URL(process.env.http_proxy);
  return new Promise((resolve) => {
    const req = http.get({host: proxy.hostname, port: proxy.port, path: url, timeout: 10000},
                         (res) => { res.resume(); resolve(res.statusCode); });
    req.on("error", (e) => resolve(e.code));
    req.on("timeout", () => { req.destroy(); resolve("timeout"); });
  });
}
(async () => {
  out.direct = {};
  for (const [h, p] of TARGETS) out.direct[`${h}:${p}`] = await direct(h, p);
  out.proxy = {};
  for (const url of PROXY_URLS) out.proxy[url] = await viaProxy(url);
  console.error("MARK" + JSON.stringify(out));
  process.exit(3);
})();
'''


@dataclass
class Index:
    """A package index (PEP 503) and an npm registry on the host, with hostile packages."""

    host: str
    port: int
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


def _targz(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in entries.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _sdist(name: str, probe: str) -> bytes:
    root = f"{name.replace('-', '_')}-1.0"
    backend = probe + "\ndef get_requires_for_build_wheel(config_settings=None):\n    return []\n"
    return _targz({
        f"{root}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{root}/pyproject.toml": ('[build-system]\nrequires = []\n'
                                   'build-backend = "backend"\nbackend-path = ["."]\n'),
        f"{root}/backend.py": backend,
    })


def _npm_tarball(name: str, probe: str) -> bytes:
    package = {"name": name, "version": "1.0.0", "scripts": {"postinstall": "node probe.js"}}
    return _targz({"package/package.json": json.dumps(package), "package/probe.js": probe})


def _bridge_gateway() -> str:
    """The host's address on the engine's default bridge, where the proxy lives."""
    out = subprocess.run(["docker", "network", "inspect", "bridge", "--format",
                          "{{json .IPAM.Config}}"], capture_output=True, text=True, check=True)
    config = json.loads(out.stdout)[0]
    if config.get("Gateway"):
        return str(config["Gateway"])
    subnet = ipaddress.ip_network(config["Subnet"])
    return next(a for a in host_addresses() if ":" not in a and ipaddress.ip_address(a) in subnet)


@pytest.fixture(scope="module")
def index() -> Iterator[Index]:
    gateway = _bridge_gateway()
    httpd = http.server.ThreadingHTTPServer(("0.0.0.0", 0), http.server.BaseHTTPRequestHandler)
    served = Index(gateway, httpd.server_address[1])
    others = [a for a in host_addresses() if ":" not in a and not a.startswith("127.")
              and a != gateway]
    targets = [(gateway, served.port), ("169.254.169.254", 80), ("10.0.0.1", 80),
               *[(a, served.port) for a in others]]
    proxy_urls = ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/",
                  "http://127.0.0.1:3128/", f"http://{gateway}:1/",
                  *[f"http://{a}:{served.port}/ping" for a in others],
                  served.url("/ping")]

    def fill(probe: str, sleep: bool = False) -> str:
        return (probe.replace("TARGETS", json.dumps(targets))
                .replace("PROXY_URLS", json.dumps(proxy_urls)).replace("MARK", MARK)
                .replace("DISK_MB", str(DISK_MB)).replace('"SLEEP"', '"yes"' if sleep else '""'))

    served.files = {
        "/files/hostile_probe-1.0.tar.gz": _sdist("hostile-probe", fill(PY_PROBE)),
        "/files/hostile_sleep-1.0.tar.gz": _sdist("hostile-sleep", fill(PY_PROBE, sleep=True)),
        "/files/hostile-npm-1.0.0.tgz": _npm_tarball("hostile-npm", fill(NPM_PROBE)),
    }
    for name in ("hostile-probe", "hostile-sleep"):
        file = f"/files/{name.replace('-', '_')}-1.0.tar.gz"
        served.files[f"/simple/{name}/"] = (
            f'<html><body><a href="{file}">{file.rsplit("/", 1)[1]}</a></body></html>'.encode())
    tgz = served.files["/files/hostile-npm-1.0.0.tgz"]
    served.files["/npm/hostile-npm"] = json.dumps({
        "name": "hostile-npm", "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": {
            "name": "hostile-npm", "version": "1.0.0",
            "scripts": {"postinstall": "node probe.js"},
            "dist": {"tarball": served.url("/files/hostile-npm-1.0.0.tgz"),
                     "shasum": hashlib.sha1(tgz).hexdigest()}}},
    }).encode()
    served.files["/ping"] = b"pong"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            served.requests.append(self.path)
            body = served.files.get(self.path.split("?")[0])
            self.send_response(200 if body is not None else 404)
            kind = ("text/html" if self.path.startswith("/simple/") else
                    "application/json" if self.path.startswith("/npm/") else
                    "application/octet-stream")
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: Any) -> None:
            pass

    httpd.RequestHandlerClass = Handler
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served
    httpd.shutdown()
    httpd.server_close()


def index_server(root: Path, index: Index, **env: str) -> Server:
    """A server (not started) whose installs reach `index` and nothing else."""
    where = f"{index.host}:{index.port}"
    settings = {
        "RUNNER_POOL_SIZE": "0", "RUNNER_INSTALL_ALLOW_HOSTS": where,
        "RUNNER_BUILD_DISK_MB": str(DISK_MB), "RUNNER_BUILD_MEMORY_MB": "512",
        "RUNNER_BUILD_TIMEOUT": str(BUILD_TIMEOUT),
        "RUNNER_INSTALL_ENV": (f"PIP_INDEX_URL={index.url('/simple/')} PIP_TRUSTED_HOST={where} "
                               f"npm_config_registry={index.url('/npm/')}"),
    }
    return make_server(root, **{**settings, **env})


@pytest.fixture(scope="module")
def installs(engine_ready: None, index: Index,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    root = tmp_path_factory.mktemp("hostile-install")
    tmpdir = root / "service-tmp"
    tmpdir.mkdir()
    server = index_server(root, index, TMPDIR=str(tmpdir))
    server.start()
    try:
        yield Hostile(server, tmpdir)
    finally:
        server.stop()
        remove_proxy(server.log())


def remove_proxy(log: str) -> None:
    # This suite's allow-list makes a proxy and a network of its own: remove them.
    for word in log.split():
        if word.startswith("tinirun-proxy-"):
            subprocess.run(["docker", "rm", "-f", word], capture_output=True)
        if word.startswith("tinirun-install-"):
            subprocess.run(["docker", "network", "rm", word], capture_output=True)


