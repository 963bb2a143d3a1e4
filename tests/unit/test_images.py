"""Image Dockerfiles and tags, as data."""

from __future__ import annotations

from tinirun.engine.docker import Engine
from tinirun.languages import get_language
from tinirun.runner.images import (
    CA_PATH,
    ImageManager,
    dependency_dockerfile,
    function_dockerfile,
    install_script,
)

PY = get_language("python")


def test_install_script_quotes_each_dependency() -> None:
    script = install_script(PY, ["requests>=2", "a[b]"])
    assert "'requests>=2' 'a[b]'" in script
    assert script.startswith("pip install")


def test_rust_versions_become_cargo_style() -> None:
    script = install_script(get_language("rust"), ["serde=1.0", "--features", "serde/derive"])
    assert "cargo add serde@1.0 --features serde/derive" in script


def test_dependency_image_removes_the_ca_in_the_same_step() -> None:
    text = dependency_dockerfile("rt", PY, ["six"], has_ca=True)
    run = [line for line in text.splitlines() if line.startswith("RUN")]
    assert len(run) == 1
    assert f"PIP_CERT={CA_PATH}" in run[0]
    assert run[0].count(f"rm -f {CA_PATH}") == 2  # on success and on failure


def test_function_image_builds_in_app_and_checks_failures() -> None:
    text = function_dockerfile("deps-image", get_language("go"))
    assert text.startswith("FROM deps-image\n")
    assert "COPY app/ /app/" in text
    assert "|| exit $?" in text
    assert "ca.crt" not in text  # dependencies are installed in the image it starts from


def test_tags_depend_on_content() -> None:
    manager = ImageManager(Engine())
    a = manager.dependency_tag(PY, ["six"])
    assert a == manager.dependency_tag(PY, ["six"])
    assert a != manager.dependency_tag(PY, ["six==1"])
    assert manager.runtime_tag(PY).startswith("tinirun-runtime-python:")
    override = ImageManager(Engine(), overrides={"python": "python:3.13-slim"})
    assert override.runtime_tag(PY) == "python:3.13-slim"
