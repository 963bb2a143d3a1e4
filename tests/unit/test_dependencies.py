"""Dependencies are package names in each manager's grammar, never locations."""

from __future__ import annotations

import pytest

from tinirun.errors import InvalidRequestError
from tinirun.languages import get_language
from tinirun.validation import validate_dependencies

ACCEPTED = {
    "python": ["requests", "six==1.16.0", "pkg[extra]>=1.0", "a~=1.2", "x<2", "Django>=4",
               "zope.interface", "x===1.0"],
    "javascript": ["lodash", "lodash@4.17.21", "@types/node@^20", "react@latest", "a@~1.2",
                   "b@>=1.0.0", "c@1.x", "left-pad@1"],
    "go": ["github.com/google/uuid", "github.com/google/uuid@v1.6.0", "golang.org/x/text@latest",
           "example.com/m/v2@v2.0.0-rc.1", "gopkg.in/yaml.v3@v3.0.1", "example.com/x@0123abcd"],
    "rust": ["serde", "serde=1.0", "serde@1.0.200", "serde/derive", "tokio@^1",
             "--features=full", "--no-default-features", "--optional"],
    "bash": ["jq", "curl=8.14.1-2", "libssl3t64", "python3.13", "tzdata=1:2025b-4"],
}

REFUSED = {
    "python": ["http://10.0.0.1/x.tar.gz", "x@http://10.0.0.1/x.tgz", "x@file:///etc/x",
               "./x", "/tmp/x", "git+https://h/x", "x.tar.gz", "pkg.whl", "x[", "x=1"],
    "javascript": ["http://h/x.tgz", "https://h/x.tgz", "file:../x", "git+ssh://h/x",
                   "github:user/repo", "user/repo", "npm:lodash", "x@npm:lodash", "./x",
                   "/tmp/x", "x.tgz", "x@file:/x", "_private", ".hidden", "@s/x@git:y",
                   "x@http://h/x.tgz"],
    "go": ["github.com/x/y@master:z", "./local", "/abs", "localmod", "example.com/../x",
           "example.com/x@", "https://example.com/x", "example.com//x"],
    "rust": ["--git=http://h/x", "--path=/x", "--registry=x", "--config=x", "./x",
             "http://h/x", "--features=a:b", "-Zunstable", "serde@", "1serde"],
    "bash": ["./x.deb", "/tmp/x.deb", "http://h/x.deb", "x.deb", "Jq", "x/trixie", "a"],
}


@pytest.mark.parametrize(("lang", "dep"), [(k, d) for k, v in ACCEPTED.items() for d in v])
def test_names_with_versions_pass(lang: str, dep: str) -> None:
    assert validate_dependencies(get_language(lang), [dep]) == [dep]


@pytest.mark.parametrize(("lang", "dep"), [(k, d) for k, v in REFUSED.items() for d in v])
def test_locations_and_options_are_refused_naming_the_entry(lang: str, dep: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        validate_dependencies(get_language(lang), [dep])
    assert repr(dep) in str(info.value)


def test_typescript_uses_the_npm_grammar() -> None:
    with pytest.raises(InvalidRequestError, match="not allowed"):
        validate_dependencies(get_language("typescript"), ["github:a/b"])


def test_a_feature_option_needs_its_feature() -> None:
    rust = get_language("rust")
    deps = ["serde", "-F", "derive", "--features", "serde/std", "tokio"]
    assert validate_dependencies(rust, deps) == deps
    with pytest.raises(InvalidRequestError, match="feature name must follow"):
        validate_dependencies(rust, ["serde", "--features"])
    with pytest.raises(InvalidRequestError, match="takes no value"):
        validate_dependencies(rust, ["--optional=yes"])
