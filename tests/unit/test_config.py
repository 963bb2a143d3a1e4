"""Settings: read once, typed, failing loudly with the variable's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tinirun.config import SETTINGS, Config, ConfigError

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults() -> None:
    config = Config.from_env({"RUNNER_API_KEY": "k"})
    assert config.host == "127.0.0.1" and config.port == 8082
    assert config.log_level == "warn" and config.cleanup_interval == 300
    assert config.redis_url is None and config.default_stream == "sse"


def test_the_dataclass_defaults_are_the_settings_defaults() -> None:
    # Each default is written once, in SETTINGS: the typed object made directly agrees.
    assert Config(api_key="k") == Config.from_env({"RUNNER_API_KEY": "k"})


def test_api_key_required() -> None:
    with pytest.raises(ConfigError, match="RUNNER_API_KEY is required"):
        Config.from_env({})


@pytest.mark.parametrize(
    ("name", "value"),
    [("RUNNER_PORT", "http"), ("RUNNER_PORT", "70000"), ("RUNNER_LOG_LEVEL", "loud"),
     ("RUNNER_CLEANUP_INTERVAL", "-1"), ("RUNNER_DEFAULT_STREAM", "xml"),
     ("RUNNER_EXTRA_CA_BUNDLE", "/no/such/file.pem"), ("RUNNER_PLAYGROUND", "maybe")],
)
def test_malformed_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_env({"RUNNER_API_KEY": "k", name: value})
    assert str(info.value).startswith(name)


def test_image_override_per_language() -> None:
    config = Config.from_env({"RUNNER_API_KEY": "k", "RUNNER_IMAGE_PYTHON": "python:3.13-slim"})
    assert config.image_overrides == {"python": "python:3.13-slim"}


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text()
    documented = set(re.findall(r"^\| `?(RUNNER_[A-Z_]+)`? \|", text, flags=re.M))
    assert {s.env for s in SETTINGS} <= documented
