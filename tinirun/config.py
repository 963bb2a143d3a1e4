"""Settings: read once from the environment into one typed object that fails loudly.

`SETTINGS` is the table of every setting (name, default, help); the README's configuration
table is checked against it by the tests.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from tinirun.languages import LANGUAGES_DIR_ENV, all_languages
from tinirun.models import MAX_STREAM_BYTES


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


LOG_LEVELS = ("trace", "debug", "info", "warn", "error")
STREAM_FORMATS = ("ndjson", "sse")


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"must be an integer, got {raw!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {raw!r}")
        return value

    return parse


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"must be true or false, got {raw!r}")


def _text(raw: str) -> str:
    if not raw.strip():
        raise ValueError("must not be empty")
    return raw


def _optional_text(raw: str) -> str | None:
    return raw.strip() or None


def _existing_file(raw: str) -> Path | None:
    if not raw.strip():
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ValueError(f"no such file: {raw}")
    return path


def _cpus(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"must be a number, got {raw!r}") from None
    if not 0.1 <= value <= 64:
        raise ValueError(f"must be between 0.1 and 64, got {value}")
    return value


def _env_pairs(raw: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in raw.split():
        name, sep, value = item.partition("=")
        if not sep or not name.replace("_", "a").isalnum() or name[0].isdigit():
            raise ValueError(f"expects NAME=value entries, got {item!r}")
        pairs.append((name, value))
    return tuple(pairs)


def _allow_list(raw: str) -> tuple[Any, ...]:
    from tinirun.runner.egress import parse_allow_list

    return parse_allow_list(raw)


def _ranges(raw: str) -> tuple[str, ...]:
    from tinirun.runner.egress import parse_ranges

    return parse_ranges(raw)


_NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def _node_name(raw: str) -> str:
    value = raw.strip()
    if not _NODE_NAME.match(value):
        raise ValueError(f"must be 1 to 63 letters, digits, '.', '_' or '-', got {raw!r}")
    return value


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


def _optional_dir(raw: str) -> Path | None:
    if not raw.strip():
        return None
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise ValueError(f"no such directory: {raw}")
    return path


@dataclass(frozen=True)
class Setting:
    """One environment variable: the field it fills, its default (None: required) and help."""

    env: str
    field: str
    default: str | Callable[[], str] | None  # None: required; a callable: computed at start
    help: str
    parse: Callable[[str], Any]


def _default_data_dir() -> str:
    return platformdirs.user_data_dir("tinirun")


def _default_workers() -> str:
    return str(max(2, (os.cpu_count() or 2) * 2))


SETTINGS: tuple[Setting, ...] = (
    Setting("RUNNER_API_KEY", "api_key", None,
            "Key every /api route checks in the X-Runner-Api-Key header.", _text),
    Setting("RUNNER_REDIS_URL", "redis_url", "",
            "Redis/Valkey URL for function metadata; empty: the embedded store.", _optional_text),
    Setting("RUNNER_HOST", "host", "127.0.0.1", "Bind address.", _text),
    Setting("RUNNER_PORT", "port", "8082", "Bind port.", _int_in(1, 65535)),
    Setting("RUNNER_LOG_LEVEL", "log_level", "warn",
            "Log level: trace, debug, info, warn, error.", _one_of(*LOG_LEVELS)),
    Setting("RUNNER_CLEANUP_INTERVAL", "cleanup_interval", "300",
            "Seconds between cleanup passes.", _int_in(1, 86400)),
    Setting("RUNNER_DATA_DIR", "data_dir", _default_data_dir,
            "Directory of the embedded store (default: the user's data dir).", _path),
    Setting("RUNNER_DEFAULT_STREAM", "default_stream", "sse",
            "Stream format when Accept names neither SSE nor NDJSON: sse, as the original's "
            "code answers, or ndjson, as its README says.", _one_of(*STREAM_FORMATS)),
    Setting("RUNNER_EXTRA_CA_BUNDLE", "extra_ca_bundle", "",
            "PEM file of extra CA certificates trusted while dependencies install.",
            _existing_file),
    Setting("RUNNER_BASE_IMAGE", "base_image", "debian:trixie-slim",
            "Image pulled as the base of the runtime images; when no registry is reachable "
            "the base is made with debootstrap instead.", _text),
    Setting("RUNNER_OCI_RUNTIME", "oci_runtime", "",
            "OCI runtime for user containers (e.g. runsc for gVisor); empty: the engine's default.",
            _optional_text),
    Setting("RUNNER_DEPENDENCY_IMAGE_MAX_AGE", "dependency_image_max_age", "604800",
            "Seconds a dependency image may go unused before cleanup removes it.",
            _int_in(60, 10 * 365 * 86400)),
    Setting("RUNNER_MAX_BODY_BYTES", "max_body_bytes", str(16 * 1024 * 1024),
            "Largest request body accepted (413 beyond).", _int_in(1024, 1024 * 1024 * 1024)),
    Setting("RUNNER_REQUEST_TIMEOUT", "request_timeout", "30",
            "Seconds a client has to send a request's headers, and again its body; past either "
            "the connection is closed (408 for a late body).", _int_in(1, 3600)),
    Setting("RUNNER_WRITE_TIMEOUT", "write_timeout", "30",
            "Seconds a client may leave the service's answer unread while the service waits to "
            "write; past it the connection is cut and the run killed.", _int_in(1, 3600)),
    Setting("RUNNER_MAX_CONNECTIONS", "max_connections", "2048",
            "Open client connections and requests in progress beyond which a request gets 503.",
            _int_in(8, 1 << 20)),
    Setting("RUNNER_MAX_STREAM_BYTES", "max_stream_bytes", str(MAX_STREAM_BYTES),
            "Bytes of stdout plus stderr one run may stream; past it output is dropped, the "
            "program goes on and the result says truncated.", _int_in(1024, 1 << 40)),
    Setting("RUNNER_OUTPUT_MAX_FILES", "output_max_files", "50",
            "Output files (./out/ or the request's output_globs) one result carries at most; "
            "the rest are named in output_files_omitted.", _int_in(0, 10_000)),
    Setting("RUNNER_OUTPUT_MAX_BYTES", "output_max_bytes", str(8 * 1024 * 1024),
            "Bytes of output-file content one result carries at most.", _int_in(0, 1 << 30)),
    Setting("RUNNER_SHUTDOWN_GRACE", "shutdown_grace", "30",
            "Seconds a stopping service (SIGTERM) lets runs under way finish before it stops "
            "them and removes their containers.", _int_in(0, 3600)),
    Setting("RUNNER_MAX_CONCURRENT_RUNS", "max_concurrent_runs", _default_workers,
            "Runs at once (default: twice the cores); more wait in the queue.", _int_in(1, 1024)),
    Setting("RUNNER_QUEUE_SIZE", "queue_size", "64",
            "Runs that may wait for a slot; beyond it: 429 with Retry-After.", _int_in(0, 100000)),
    Setting("RUNNER_POOL_SIZE", "pool_size", "2",
            "Warm containers kept waiting per image in use (0: no pool, a fresh container per run).",
            _int_in(0, 64)),
    Setting("RUNNER_POOL_MAX_MEMORY_MB", "pool_max_memory_mb", "4096",
            "Most memory (sum of limits) that waiting containers may reserve.",
            _int_in(0, 1024 * 1024)),
    Setting("RUNNER_POOL_IDLE_SECONDS", "pool_idle_seconds", "600",
            "A pool not used for this long is retired.", _int_in(1, 7 * 86400)),
    Setting("RUNNER_COMPILE_CPUS", "compile_cpus", "1.0",
            "CPU quota of a one-off run's compile step (go, rust) when the run's cpu_limit is "
            "lower; the program still runs under cpu_limit.", _cpus),
    Setting("RUNNER_INSTALLS", "installs", "true",
            "Allow dependencies at all; false: only the runtimes and pre-built images run.",
            _bool),
    Setting("RUNNER_INSTALL_ALLOW_HOSTS", "install_allow_hosts", "",
            "Hosts (host, host:port or address) installs may reach through the egress proxy, "
            "and only those; empty: any host outside the refused ranges. An address named here "
            "may be private (an internal mirror).", _allow_list),
    Setting("RUNNER_INSTALL_REFUSED_RANGES", "install_refused_ranges", "",
            "Networks the egress proxy refuses besides loopback, private, link-local, CGNAT, "
            "unique-local, multicast and the host's own addresses.", _ranges),
    Setting("RUNNER_INSTALL_ENV", "install_env", "",
            "Extra environment of installs, NAME=value separated by spaces (e.g. an internal "
            "mirror: PIP_INDEX_URL=... npm_config_registry=...).", _env_pairs),
    Setting("RUNNER_PROXY_IMAGE", "proxy_image", "",
            "Image of the egress proxy (squid) to pull; empty: built on the base image.",
            _optional_text),
    Setting("RUNNER_MAX_CONCURRENT_BUILDS", "max_concurrent_builds", "2",
            "Image builds (installs, function builds) at once; more wait in line.",
            _int_in(1, 256)),
    Setting("RUNNER_BUILD_QUEUE_SIZE", "build_queue_size", "16",
            "Builds that may wait for a build slot; beyond it: 429.", _int_in(0, 10000)),
    Setting("RUNNER_BUILD_TIMEOUT", "build_timeout", "300",
            "Seconds one build (an install, a function build) may take.", _int_in(5, 86400)),
    Setting("RUNNER_BUILD_MEMORY_MB", "build_memory_mb", "2048",
            "Memory of one build, its tmpfs scratch and output included.",
            _int_in(64, 1024 * 1024)),
    Setting("RUNNER_BUILD_CPUS", "build_cpus", "1.0", "CPUs of one build.", _cpus),
    Setting("RUNNER_BUILD_DISK_MB", "build_disk_mb", "1024",
            "Most one build may write to its output (and to each scratch place).",
            _int_in(16, 1024 * 1024)),
    Setting("RUNNER_MAX_FUNCTIONS", "max_functions", "1000",
            "Most functions that may exist; creating one more is a 400.", _int_in(1, 10**7)),
    Setting("RUNNER_IMAGE_MAX_TOTAL_MB", "image_max_total_mb", "20480",
            "Total size of dependency and function images; past it cleanup removes the "
            "least recently used.", _int_in(64, 1024 * 1024 * 1024)),
    Setting("RUNNER_PLAYGROUND", "playground", "true",
            "Serve the web playground at /.", _bool),
    Setting("RUNNER_METRICS", "metrics", "true",
            "Serve Prometheus metrics at /metrics.", _bool),
    Setting("RUNNER_METRICS_PUBLIC", "metrics_public", "false",
            "Serve /metrics without the API key (for a scraper on a private network).", _bool),
    Setting(LANGUAGES_DIR_ENV, "languages_dir", "",
            "Directory of language folders to serve instead of the shipped ones "
            "(docs/languages.md); read once at start.", _optional_dir),
    Setting("RUNNER_CLUSTER", "cluster", "false",
            "Join a cluster of nodes sharing RUNNER_REDIS_URL (run queue, heartbeats) and "
            "RUNNER_REGISTRY (function and dependency images); needs both.", _bool),
    Setting("RUNNER_REGISTRY", "registry", "",
            "Image registry of the cluster, host[:port][/path]; images are pushed and pulled "
            "through the engine, with its TLS and credentials.", _optional_text),
    Setting("RUNNER_NODE_NAME", "node_name", socket.gethostname,
            "Name of this node in the cluster (default: the host name).", _node_name),
    Setting("RUNNER_CLUSTER_NODE_TTL", "node_ttl", "10",
            "Seconds a node's heartbeat lives: a node silent this long is gone, its started "
            "runs end with a docker error and its taken ones go back to the queue.",
            _int_in(3, 120)),
)


def _default(name: str) -> Any:
    """The dataclass default of field `name`: its setting's default, parsed (written once, in
    SETTINGS)."""
    setting = next(s for s in SETTINGS if s.field == name)
    default = setting.default
    assert default is not None, f"{setting.env} is required: it has no default"

    def make() -> Any:
        return setting.parse(default() if callable(default) else default)

    return field(default_factory=make)


@dataclass(frozen=True)
class Config:
    """Every setting of the service, typed; defaults come from SETTINGS."""

    api_key: str
    redis_url: str | None = _default("redis_url")
    host: str = _default("host")
    port: int = _default("port")
    log_level: str = _default("log_level")
    cleanup_interval: int = _default("cleanup_interval")
    data_dir: Path = _default("data_dir")
    default_stream: str = _default("default_stream")
    extra_ca_bundle: Path | None = _default("extra_ca_bundle")
    base_image: str = _default("base_image")
    oci_runtime: str | None = _default("oci_runtime")
    dependency_image_max_age: int = _default("dependency_image_max_age")
    max_body_bytes: int = _default("max_body_bytes")
    request_timeout: int = _default("request_timeout")
    write_timeout: int = _default("write_timeout")
    max_connections: int = _default("max_connections")
    max_stream_bytes: int = _default("max_stream_bytes")
    output_max_files: int = _default("output_max_files")
    output_max_bytes: int = _default("output_max_bytes")
    shutdown_grace: int = _default("shutdown_grace")
    max_concurrent_runs: int = _default("max_concurrent_runs")
    queue_size: int = _default("queue_size")
    pool_size: int = _default("pool_size")
    pool_max_memory_mb: int = _default("pool_max_memory_mb")
    pool_idle_seconds: int = _default("pool_idle_seconds")
    compile_cpus: float = _default("compile_cpus")
    playground: bool = _default("playground")
    metrics: bool = _default("metrics")
    metrics_public: bool = _default("metrics_public")
    languages_dir: Path | None = _default("languages_dir")
    installs: bool = _default("installs")
    install_allow_hosts: tuple[Any, ...] = _default("install_allow_hosts")
    install_refused_ranges: tuple[str, ...] = _default("install_refused_ranges")
    install_env: tuple[tuple[str, str], ...] = _default("install_env")
    proxy_image: str | None = _default("proxy_image")
    max_concurrent_builds: int = _default("max_concurrent_builds")
    build_queue_size: int = _default("build_queue_size")
    build_timeout: int = _default("build_timeout")
    build_memory_mb: int = _default("build_memory_mb")
    build_cpus: float = _default("build_cpus")
    build_disk_mb: int = _default("build_disk_mb")
    max_functions: int = _default("max_functions")
    image_max_total_mb: int = _default("image_max_total_mb")
    cluster: bool = _default("cluster")
    registry: str | None = _default("registry")
    node_name: str = _default("node_name")
    node_ttl: int = _default("node_ttl")
    # RUNNER_IMAGE_<LANG>: an image to use as that language's runtime instead of building ours.
    image_overrides: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read every setting; ConfigError names the first variable that is missing or bad."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = env.get(setting.env)
            if raw is None:
                if setting.default is None:
                    raise ConfigError(f"{setting.env} is required: {setting.help}")
                raw = setting.default() if callable(setting.default) else setting.default
            try:
                values[setting.field] = setting.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{setting.env} {exc}") from None
        overrides = {}
        for name in all_languages():
            image = env.get(f"RUNNER_IMAGE_{name.upper()}", "").strip()
            if image:
                overrides[name] = image
        values["image_overrides"] = overrides
        if values["cluster"] and not (values["redis_url"] and values["registry"]):
            missing = "RUNNER_REDIS_URL" if not values["redis_url"] else "RUNNER_REGISTRY"
            raise ConfigError(f"RUNNER_CLUSTER=true needs {missing}: the nodes share the run "
                              "queue in Redis and their images in the registry")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
