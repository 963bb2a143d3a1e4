"""No network at run time: no interface but loopback, no route, no DNS, no Docker socket, no
way to the service or anything else on the host. Dependency installs had network (in their
image build), the run that uses them has none."""

from __future__ import annotations

import json

from tests.hostile.harness import Hostile, python

PROBE_NETWORK = r"""
import json, os, socket, sys, time
import six  # installed with network, in the dependency image's build
port = int(sys.argv[1]) if len(sys.argv) > 1 else PORT
out = {'six': six.__version__}
out['interfaces'] = sorted(n for _, n in socket.if_nameindex())
out['routes'] = open('/proc/net/route').read().splitlines()[1:]
out['routes6'] = [l for l in open('/proc/net/ipv6_route').read().splitlines()
                  if not l.endswith(' lo')]
def attempt(what, fn):
    try:
        fn()
        out[what] = 'ok'
    except OSError as exc:
        out[what] = type(exc).__name__
attempt('dns', lambda: socket.getaddrinfo('example.org', 443))
attempt('service_v4', lambda: socket.create_connection(('127.0.0.1', port), timeout=3))
attempt('service_v6', lambda: socket.create_connection(('::1', port), timeout=3))
out['docker_sockets'] = [p for p in ('/var/run/docker.sock', '/run/docker.sock',
                                     '/run/containerd/containerd.sock') if os.path.exists(p)]
out['docker_host_env'] = [k for k in os.environ if k.startswith('DOCKER')]
print(json.dumps(out))
time.sleep(2)
"""


def test_no_network_at_run_time(hostile: Hostile) -> None:
    code = PROBE_NETWORK.replace("PORT", str(hostile.server.port))
    body = python(code, timeout=60, dependencies=["six==1.16.0"])
    result = hostile.survive(body, name="network").result
    assert result["exit_code"] == 0, result["stderr"][-2000:]
    out = json.loads(result["stdout"])
    assert out["six"] == "1.16.0"
    assert out["interfaces"] == ["lo"]
    assert out["routes"] == [] and out["routes6"] == []
    assert out["dns"] == "gaierror"
    # Loopback is the container's own: the service's port on the host is not there.
    assert out["service_v4"] == "ConnectionRefusedError"
    assert out["service_v6"] in ("ConnectionRefusedError", "OSError")
    assert out["docker_sockets"] == [] and out["docker_host_env"] == []
