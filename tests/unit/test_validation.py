"""Dependency and file rules, as data."""

from __future__ import annotations

import base64

import pytest

from tinirun.errors import InvalidRequestError
from tinirun.languages import get_language
from tinirun.models import FileSpec
from tinirun.validation import validate_dependencies, validate_files

PY = get_language("python")
RUST = get_language("rust")


def test_dependencies_are_normalised_sorted_and_deduplicated() -> None:
    assert validate_dependencies(PY, [" requests ", "six==1.16.0", "requests"]) == [
        "requests", "six==1.16.0"]


def test_rust_keeps_order_and_allows_features() -> None:
    deps = ["serde=1.0", "--features", "serde/derive", "tokio@1"]
    assert validate_dependencies(RUST, deps) == deps


@pytest.mark.parametrize("dep", ["pkg[extra]>=1.0", "a~=1.2", "x<2", "a_b-c.d"])
def test_allowed_characters(dep: str) -> None:
    assert validate_dependencies(PY, [dep]) == [dep]


@pytest.mark.parametrize(
    ("dep", "char"),
    [("a;b", "';'"), ("a b", "' '"), ("a$(x)", "'$'"), ("a|b", "'|'"), ("a`b`", "'`'"),
     ("a&b", "'&'"), ("a\nb", "'\\n'"), ("é", "'é'"), ("a'b", '"\'"')],
)
def test_forbidden_characters_name_dependency_and_character(dep: str, char: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        validate_dependencies(PY, [dep])
    assert repr(dep) in str(info.value) or dep.strip() in str(info.value)
    assert char in str(info.value)


@pytest.mark.parametrize("dep", ["--index-url=http://x", "-e", "--config", "-r"])
def test_options_refused_for_package_managers(dep: str) -> None:
    with pytest.raises(InvalidRequestError, match="options are not allowed"):
        validate_dependencies(PY, [dep])


def test_rust_refuses_options_outside_its_list() -> None:
    with pytest.raises(InvalidRequestError, match="allowed: --features"):
        validate_dependencies(RUST, ["--git=http://x"])


def test_empty_dependency() -> None:
    with pytest.raises(InvalidRequestError, match="empty"):
        validate_dependencies(PY, ["  "])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_files_decode() -> None:
    files = [FileSpec(path="a.txt", content=b64(b"x")), FileSpec(path="d/b", content="")]
    assert validate_files(files) == [("a.txt", b"x"), ("d/b", b"")]


@pytest.mark.parametrize(
    ("path", "needle"),
    [("/abs", "relative"), ("../up", "'..'"), ("a/../b", "'..'"), ("./a", "'.'"),
     ("a//b", "empty"), ("a\\b", "backslash"), ("a\x00b", "NUL"), ("Dockerfile", "not allowed"),
     ("", "empty"), ("a/", "empty")],
)
def test_bad_paths(path: str, needle: str) -> None:
    with pytest.raises(InvalidRequestError, match="files\\[0\\].path") as info:
        validate_files([FileSpec(path=path, content="")])
    assert needle in str(info.value)


def test_path_under_another_file_either_order() -> None:
    for first, second in (("a", "a/b"), ("a/b", "a")):
        with pytest.raises(InvalidRequestError, match="files\\[1\\].path"):
            validate_files([FileSpec(path=first, content=""), FileSpec(path=second, content="")])


def test_duplicate_path() -> None:
    with pytest.raises(InvalidRequestError, match="twice"):
        validate_files([FileSpec(path="a", content=""), FileSpec(path="a", content="")])


def test_invalid_base64_names_the_file() -> None:
    with pytest.raises(InvalidRequestError, match="files\\[0\\].content"):
        validate_files([FileSpec(path="a", content="not base64!")])
