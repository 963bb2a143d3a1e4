"""A fuzz run of the whole OpenAPI document with schemathesis, against a live server with its
key: valid and invalid requests of every operation, and never a 5xx. Runs it provokes are real
and short (random code fails fast); about a minute in all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.server import Server

# Test cases per operation and phase: enough to reach every route's edges, within ~1 minute.
MAX_EXAMPLES = "10"


def test_no_server_error_for_any_generated_request(make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make()
    srv.start()
    schemathesis = Path(sys.executable).parent / "schemathesis"
    command = [
        str(schemathesis), "run", f"{srv.url}/api/openapi.json",
        "--header", f"X-Runner-Api-Key: {srv.headers['X-Runner-Api-Key']}",
        "--checks", "not_a_server_error",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", MAX_EXAMPLES,
        "--workers", "1",
        "--request-timeout", "120",
        "--generation-database", "none",
        "--no-color",
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=280)
    report = done.stdout[-8000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    assert "passed" in done.stdout, report
    assert "Traceback" not in srv.log()
