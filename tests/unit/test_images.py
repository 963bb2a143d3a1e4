"""Build scripts, payloads and image tags, as data."""

from __future__ import annotations

import io
import tarfile

from tinirun.engine.docker import Engine
from tinirun.languages import get_language
from tinirun.runner.builds import SCRIPT, build_script, payload
from tinirun.runner.images import CA_PATH, ImageManager, install_script

PY = get_language("python")


def test_install_script_quotes_each_dependency() -> None:
    script = install_script(PY, ["requests>=2", "a[b]"])
    assert "'requests>=2' 'a[b]'" in script
    assert script.startswith("pip install")


def test_rust_versions_become_cargo_style() -> None:
    script = install_script(get_language("rust"), ["serde=1.0", "--features", "serde/derive"])
    assert "cargo add serde@1.0 --features serde/derive" in script


def test_build_script_keeps_logs_off_the_output_tar() -> None:
    script = build_script("pip install six", {"HTTPS_PROXY": "http://p:3128"}, "/opt/tinirun")
    lines = script.splitlines()
    assert "export HTTPS_PROXY=http://p:3128" in lines
    assert "( pip install six ) 1>&2 || exit $?" in lines
    assert lines[-1] == "exec tar -C / -cf - opt/tinirun"
    # An apt install commits its own layer: no tar, logs anywhere.
    assert "tar" not in build_script("apt-get install jq", {}, None)


def test_build_payload_holds_the_ca_only_in_tmp() -> None:
    data = payload({CA_PATH.lstrip("/"): b"pem", "app/main.py": "print(1)"}, "#!/bin/sh\n")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members[CA_PATH.lstrip("/")].mode == 0o600
    assert "tmp" not in members and "work" not in members  # their modes stay the mounts'
    assert SCRIPT in members and "app" in members


def test_tags_depend_on_content() -> None:
    manager = ImageManager(Engine())
    a = manager.dependency_tag(PY, ["six"])
    assert a == manager.dependency_tag(PY, ["six"])
    assert a != manager.dependency_tag(PY, ["six==1"])
    assert manager.runtime_tag(PY).startswith("tinirun-runtime-python:")
    override = ImageManager(Engine(), overrides={"python": "python:3.13-slim"})
    assert override.runtime_tag(PY) == "python:3.13-slim"
