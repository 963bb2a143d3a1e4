"""Each language's example program (the playground's starting snippet) runs as it ships."""

from __future__ import annotations

import pytest

from tests.integration.server import Server, result_of
from tinirun.languages import all_languages


@pytest.mark.parametrize("lang", sorted(all_languages()))
def test_example_runs(server: Server, lang: str) -> None:
    result = result_of(server.run({"lang": lang, "code": all_languages()[lang].example_code}))
    assert result["exit_code"] == 0, result
    assert result["stdout"] == "Hello, world!\ntick 1\ntick 2\ntick 3\n"
