# The launcher of a pre-started Python (see tinirun/runner/boot.py). The warm container runs
# `python3 -u main.py` (the language's run command) before main.py exists; site's processing
# of the user site directory executes this (from a .pth line) before the interpreter opens
# the script. It removes its own traces, waits for the payload on fd 3, unpacks it (the
# program's files, and .tinirun/stdin in place, which is already fd 0), tells the boot shell
# the time limit, appends the run's arguments to sys.argv and returns: Python then runs the
# script as it always does (same argv[0], __main__, __file__, sys.path[0], tracebacks,
# exit status), in a process that has run nothing else. Only `os` and `sys` are used: both
# are loaded at start-up anyway, so sys.modules is what a plain start has.
import os
import sys


def _launch(sitedir: str) -> None:
    go = os.open("/tmp/.tinirun-go", os.O_WRONLY)
    os.unlink("/tmp/.tinirun-go")  # both ends are open: the boot shell needs its name no more
    for name in ("tinirun-launcher.pth", "tinirun-launcher.txt"):
        os.unlink(os.path.join(sitedir, name))
    path = sitedir
    while path != os.path.expanduser("~"):
        try:
            os.rmdir(path)
        except OSError:
            break
        path = os.path.dirname(path)
    while sitedir in sys.path:
        sys.path.remove(sitedir)
    # Read up to the archive's end block (as tar does), not to the end of input: over a TLS
    # connection to the engine the service cannot half-close the container's stdin.
    data = b""
    scan = 0
    while True:
        chunk = os.read(3, 1 << 20)
        if not chunk:
            break
        data += chunk
        while scan + 512 <= len(data) and data[scan:scan + 512].strip(b"\0"):
            size = int(data[scan + 124:scan + 136].split(b"\0", 1)[0].strip() or b"0", 8)
            scan += 512 + (size + 511) // 512 * 512
        if scan + 512 <= len(data):
            break
    os.close(3)
    offset = 0
    long_name: bytes | None = None
    while offset + 512 <= len(data):
        header = data[offset:offset + 512]
        offset += 512
        if not header.strip(b"\0"):
            break
        raw = header[:100].split(b"\0", 1)[0]
        size = int(header[124:136].split(b"\0", 1)[0].strip() or b"0", 8)
        kind = header[156:157]
        body = data[offset:offset + size]
        offset += (size + 511) // 512 * 512
        if kind == b"L":
            long_name = body.split(b"\0", 1)[0]
            continue
        if long_name is not None:
            raw, long_name = long_name, None
        target = os.fsdecode(raw)
        if kind == b"5":
            os.makedirs(target, exist_ok=True)
        elif kind in (b"0", b"\0"):
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view):]
            os.close(fd)
    with open(".tinirun/timeout", "rb") as file:
        limit = file.read().strip()
    os.write(go, limit + b"\n")
    os.close(go)
    with open(".tinirun/args", "rb") as file:
        args = [os.fsdecode(a) for a in file.read().split(b"\0")[:-1]]
    sys.argv.extend(args)
    sys.orig_argv.extend(args)
    # site decoded the .pth file with this codec, which a plain start does not load.
    if sys.modules.pop("encodings.utf_8_sig", None) is not None:
        encodings = sys.modules.get("encodings")
        if encodings is not None and hasattr(encodings, "utf_8_sig"):
            delattr(encodings, "utf_8_sig")


_launch(globals()["sitedir"])  # site's addpackage gives it
