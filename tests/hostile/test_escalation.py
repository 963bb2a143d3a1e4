"""Escalation attempts: setuid binaries, writing /proc and /sys (the cgroup limits among
them), mounting, raw sockets, privileged system calls, and ptrace. All are refused; ptrace
reaches only the run's own processes (a pid namespace of its own, same uid, no capabilities)."""

from __future__ import annotations

import json

from tests.hostile.harness import Hostile, python

ESCALATE = r"""
import ctypes, errno, json, os, platform, socket, subprocess, time
libc = ctypes.CDLL(None, use_errno=True)
out = {'uid': os.getuid(), 'euid': os.geteuid()}
status = dict(l.split(':\t', 1) for l in open('/proc/self/status').read().splitlines() if ':\t' in l)
out['caps'] = {k: status[k].strip() for k in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb')}
out['no_new_privs'] = status['NoNewPrivs'].strip()

# setuid binaries: they exist in the image, but no-new-privileges keeps them unprivileged.
found = subprocess.run(['find', '/', '-xdev', '-perm', '-4000', '-type', 'f'],
                       capture_output=True, text=True).stdout.split()
out['setuid_binaries'] = found
tries = {'su': ['su', '-c', 'id -u', 'root'], 'mount': ['mount', '-t', 'tmpfs', 'none', '/tmp'],
         'umount': ['umount', '/tmp'], 'newgrp': ['newgrp', 'root']}
out['setuid_runs'] = {}
for name, argv in tries.items():
    try:
        p = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                           timeout=5)
        out['setuid_runs'][name] = [p.returncode, p.stdout.strip()]
    except (OSError, subprocess.TimeoutExpired) as exc:
        out['setuid_runs'][name] = [None, type(exc).__name__]

def write(path, data='1'):
    try:
        with open(path, 'w') as f:
            f.write(data)
        return 'written'
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
cg = '/sys/fs/cgroup'
out['writes'] = {p: write(p, d) for p, d in [
    ('/proc/sys/kernel/hostname', 'owned'), ('/proc/sys/vm/drop_caches', '3'),
    ('/proc/sysrq-trigger', 'b'), ('/proc/sys/kernel/core_pattern', '|/tmp/x'),
    ('/proc/self/oom_score_adj', '-1000'),
    ('/sys/kernel/mm/transparent_hugepage/enabled', 'always'),
    (cg + '/memory/memory.limit_in_bytes', str(8 << 30)),
    (cg + '/memory/memory.memsw.limit_in_bytes', str(8 << 30)),
    (cg + '/pids/pids.max', 'max'), (cg + '/cpu/cpu.cfs_quota_us', '-1'),
    (cg + '/devices/devices.allow', 'a'),
]}

def call(fn, *args):
    r = fn(*args)
    return 'ok' if r == 0 or r > 0 else errno.errorcode.get(ctypes.get_errno(), '?')
os.makedirs('/tmp/m', exist_ok=True)
calls = {
    'mount': lambda: call(libc.mount, b'none', b'/tmp/m', b'tmpfs', 0, None),
    'umount': lambda: call(libc.umount2, b'/work', 2),
    'unshare_user': lambda: call(libc.unshare, 0x10000000),
    'unshare_mount': lambda: call(libc.unshare, 0x00020000),
    'chroot': lambda: call(libc.chroot, b'/tmp'),
    'sethostname': lambda: call(libc.sethostname, b'owned', 5),
    'reboot': lambda: call(libc.reboot, 0x4321FEDC),
    'swapon': lambda: call(libc.swapon, b'/tmp/m', 0),
    'acct': lambda: call(libc.acct, b'/tmp/acct'),
    'setuid0': lambda: call(libc.setuid, 0),
}
if platform.machine() == 'x86_64':
    numbers = {'keyctl': 250, 'bpf': 321, 'perf_event_open': 298, 'init_module': 175,
               'kexec_load': 246, 'open_by_handle_at': 304, 'userfaultfd': 323}
    for name, nr in numbers.items():
        calls[name] = (lambda nr: lambda: call(libc.syscall, nr, 0, 0, 0, 0, 0))(nr)
out['calls'] = {name: fn() for name, fn in calls.items()}

out['sockets'] = {}
for name, args in {'raw_icmp': (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
                   'raw_tcp': (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP),
                   'packet': (socket.AF_PACKET, socket.SOCK_RAW, 0),
                   'netlink_route': (socket.AF_NETLINK, socket.SOCK_RAW, 0)}.items():
    try:
        socket.socket(*args).close()
        out['sockets'][name] = 'ok'
    except OSError as exc:
        out['sockets'][name] = errno.errorcode.get(exc.errno, str(exc.errno))

# ptrace: every process in sight is the run's own; the service's pid is not there.
out['pids'] = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
out['pid1'] = open('/proc/1/cmdline').read().split('\0')[0]
out['uids'] = sorted({int(dict(l.split(':\t', 1) for l in open(f'/proc/{p}/status').read()
                                 .splitlines() if ':\t' in l)['Uid'].split()[0])
                      for p in out['pids'] if os.path.exists(f'/proc/{p}')})
service_pid = SERVICE_PID
out['service_pid_visible'] = os.path.exists(f'/proc/{service_pid}/cmdline') and \
    'tinirun' in open(f'/proc/{service_pid}/cmdline').read()
libc.ptrace.restype = ctypes.c_long
out['ptrace_service'] = call(libc.ptrace, 16, service_pid, 0, 0)
print(json.dumps(out))
time.sleep(2)
"""


def test_escalation_is_refused(hostile: Hostile) -> None:
    code = ESCALATE.replace("SERVICE_PID", str(hostile.pid))
    result = hostile.survive(python(code, timeout=30), name="escalation").result
    assert result["exit_code"] == 0, result["stderr"][-3000:]
    out = json.loads(result["stdout"])
    assert out["uid"] == out["euid"] == 1000
    assert set(out["caps"].values()) == {"0000000000000000"}
    assert out["no_new_privs"] == "1"
    assert out["setuid_binaries"], "the image has setuid binaries to try"
    for name, (code_, stdout) in out["setuid_runs"].items():
        assert code_ != 0 and stdout != "0", (name, code_, stdout)
    assert all(v in ("EROFS", "EACCES", "EPERM", "ENOENT") for v in out["writes"].values()), \
        out["writes"]
    assert out["calls"].pop("setuid0") == "EPERM"
    assert out["calls"] and set(out["calls"].values()) == {"EPERM"}, out["calls"]
    raw = {k: v for k, v in out["sockets"].items() if k != "netlink_route"}
    assert set(raw.values()) == {"EPERM"}, out["sockets"]
    assert out["pid1"] == "/sbin/docker-init"
    assert out["uids"] == [1000]
    assert max(out["pids"]) < 100, out["pids"]
    assert out["service_pid_visible"] is False
    assert out["ptrace_service"] == "ESRCH"
