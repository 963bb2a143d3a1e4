"""`tinirun doctor`: check the service this client talks to (reached at the same --url /
TINIRUN_URL with the same key as `tinirun run`: does it answer, take the key, are its engine
and store up, which languages it runs), then what `tinirun serve` needs on this machine
(settings, Docker engine, runtime images, store, CA bundle) when the service is local or with
--local; say what to do about each problem. Exits 1 when something is broken, else 0."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from tinirun_client import (
    AuthenticationError,
    Client,
    ClientError,
    NotFoundError,
    StatusError,
    TransportError,
)

from tinirun.cli._output import (
    EXIT_OK,
    EXIT_PROBLEMS,
    Style,
    add_connection,
    client_of,
    examples,
)
from tinirun.config import Config, ConfigError
from tinirun.languages import all_languages

OK, NOTE, WARN, FAIL = "ok", "note", "warn", "fail"


@dataclass(frozen=True)
class Check:
    """The outcome of one check: what was found, and what to do when it is a problem."""

    status: str
    name: str
    found: str
    todo: str = ""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "doctor", help="check the engine, images, store, CA setting and the service",
        description=__doc__.split("\n\n")[0].replace("`tinirun doctor`: c", "C"),
        epilog=examples("tinirun doctor", "TINIRUN_URL=http://10.0.0.5:8082 tinirun doctor",
                        "tinirun doctor --local     # this machine too, for `tinirun serve`"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--local", action="store_true",
                        help="check this machine for `tinirun serve` even when the service "
                             "runs elsewhere")
    add_connection(parser)
    parser.set_defaults(handler=doctor_command)


def check_settings() -> tuple[Check, Config]:
    has_key = bool(os.environ.get("RUNNER_API_KEY", "").strip())
    try:
        # Without a key the other settings are still worth checking.
        config = Config.from_env({**os.environ, "RUNNER_API_KEY": "-"} if not has_key else None)
    except ConfigError as exc:
        return Check(FAIL, "settings", str(exc), "fix or unset that variable"), Config("-")
    store = "Redis" if config.redis_url else "embedded store"
    found = f"port {config.port}, {store}, {config.max_concurrent_runs} runs at once"
    if not has_key:
        return Check(NOTE, "settings", f"{found}; RUNNER_API_KEY is not set",
                     "only `tinirun serve` needs it: RUNNER_API_KEY=<a secret> tinirun serve"
                     ), config
    return Check(OK, "settings", found), config


async def check_engine_and_images(config: Config) -> list[Check]:
    from tinirun.engine.docker import Engine
    from tinirun.errors import EngineError
    from tinirun.runner.runtimes import BASE_TAG
    from tinirun.service import make_images

    where = os.environ.get("DOCKER_HOST") or "the default socket"
    engine = Engine()
    try:
        try:
            version = await engine.ping()
        except EngineError as exc:
            return [Check(FAIL, "engine", f"no Docker engine answers at {where} ({exc})",
                          "start it (e.g. `sudo systemctl start docker`) or set DOCKER_HOST"),
                    Check(WARN, "images", "not checked (no engine)")]
        checks = [Check(OK, "engine", f"Docker {version} at {where}")]
        images = make_images(config, engine)
        missing = [name for name, language in sorted(all_languages().items())
                   if await engine.image_id(images.runtime_tag(language)) is None]
        if not missing:
            checks.append(Check(OK, "images", f"all {len(all_languages())} runtime images built"))
        else:
            base = "" if await engine.image_id(BASE_TAG) else (
                f"; the base {BASE_TAG} too (pulled from {config.base_image}, or made with "
                "debootstrap as root when no registry answers)")
            checks.append(Check(
                WARN, "images", f"not built yet: {', '.join(missing)}{base}",
                f"they build on first use, slowly; build them now: tinirun images build "
                f"{' '.join(missing)}"))
        return checks
    finally:
        await engine.close()


async def check_store(config: Config) -> Check:
    if config.redis_url:
        from tinirun.errors import StoreUnavailableError
        from tinirun.store.redis import RedisStore

        store = RedisStore.from_url(config.redis_url)
        try:
            await asyncio.wait_for(store.ping(), 10)
        except (StoreUnavailableError, TimeoutError) as exc:
            return Check(FAIL, "store", f"Redis at {config.redis_url} does not answer ({exc})",
                         "start it, or unset RUNNER_REDIS_URL to use the embedded store")
        finally:
            await store.close()
        return Check(OK, "store", f"Redis at {config.redis_url} answers")
    directory = config.data_dir
    existing = next(p for p in [directory, *directory.parents] if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return Check(FAIL, "store", f"the embedded store's folder {directory} is not writable",
                     "make it writable, or set RUNNER_DATA_DIR to a folder that is")
    verb = "in" if existing == directory else "to be created in"
    return Check(OK, "store", f"embedded SQLite store {verb} {directory}")


def check_ca(config: Config) -> Check:
    bundle = config.extra_ca_bundle
    proxy = next((os.environ[k] for k in ("HTTPS_PROXY", "https_proxy") if os.environ.get(k)), "")
    if bundle is None:
        system = Path("/etc/ssl/certs/ca-certificates.crt")
        example = system if system.is_file() else Path("/path/to/proxy-ca.pem")
        todo = ("behind a TLS-intercepting proxy, dependency installs fail until you set "
                f"RUNNER_EXTRA_CA_BUNDLE={example} (scripts/serve sets it to the host's store)")
        if proxy:
            return Check(WARN, "CA bundle", f"not set, and HTTPS_PROXY is {proxy}", todo)
        return Check(NOTE, "CA bundle", "not set: dependency installs trust public CAs only",
                     todo)
    certificates = bundle.read_text(errors="replace").count("-----BEGIN CERTIFICATE-----")
    if not certificates:
        return Check(FAIL, "CA bundle", f"{bundle} holds no PEM certificate",
                     "point RUNNER_EXTRA_CA_BUNDLE at a PEM file of CA certificates")
    return Check(OK, "CA bundle", f"{bundle}: {certificates} certificates trusted while "
                                  "dependencies install")


def check_service(client: Client) -> list[Check]:
    """The service at the client's URL: it answers, takes the key, its engine and store are
    up, and the languages it runs."""
    try:
        client.openapi()
    except TransportError:
        return [Check(FAIL, "service", f"none answers at {client.url}",
                      "start one (RUNNER_API_KEY=<secret> tinirun serve) or point --url / "
                      "TINIRUN_URL at it")]
    except ClientError as exc:
        return [Check(FAIL, "service", f"{client.url} is not a tinirun service ({exc})",
                      "point --url / TINIRUN_URL at the service's root")]
    try:
        client.list_functions(limit=1)
    except AuthenticationError:
        return [Check(FAIL, "service", f"{client.url} answers but refuses the API key",
                      "set --api-key or TINIRUN_API_KEY to the service's RUNNER_API_KEY")]
    except StatusError as exc:
        checks = [Check(FAIL, "service", f"{client.url} answers, but its store fails ({exc})",
                        "see the service's log; with Redis, check that Redis is up")]
    except ClientError as exc:
        return [Check(FAIL, "service", f"{client.url}: {exc}")]
    else:
        checks = [Check(OK, "service", f"{client.url} answers and accepts the API key")]
    checks.append(_service_health(client))
    checks.append(_service_languages(client))
    return [c for c in checks if c.found]


def _service_health(client: Client) -> Check:
    try:
        health = client.health()
    except NotFoundError:
        return Check(OK, "health", "")  # an older service: nothing more to learn
    except ClientError as exc:
        return Check(WARN, "health", f"cannot tell ({exc})")
    down = [part for part in ("engine", "store") if health.get(part) not in (None, "ok")]
    if down:
        return Check(FAIL, "health", health.get("message") or f"down: {', '.join(down)}",
                     "see the service's log (`tinirun doctor --local` on its machine)")
    return Check(OK, "health", "its Docker engine and its store answer")


def _service_languages(client: Client) -> Check:
    try:
        languages = client.languages()
    except NotFoundError:
        return Check(OK, "languages", "")
    except ClientError as exc:
        return Check(WARN, "languages", f"cannot list them ({exc})")
    named = ", ".join(f"{lang.name} {lang.version}".strip() if lang.version else lang.name
                      for lang in languages)
    unbuilt = [lang.name for lang in languages if not lang.version]
    if unbuilt:
        return Check(NOTE, "languages", named, f"not built yet, so their first run is slow: "
                     f"{', '.join(unbuilt)} (`tinirun images build` on the service's machine)")
    return Check(OK, "languages", named)


def is_local(url: str) -> bool:
    """Whether the service's URL is on this machine (loopback, or our own name)."""
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    return host in ("localhost", "127.0.0.1", "::1", "0.0.0.0", "") or host.startswith("127.") \
        or host == socket.gethostname().lower()


async def _local_checks(config: Config) -> list[Check]:
    return [*await check_engine_and_images(config), await check_store(config), check_ca(config)]


def _show(title: str, checks: list[Check], style: Style, width: int) -> None:
    marks = {OK: style.green("✓"), NOTE: style.dim("·"), WARN: style.yellow("!"),
             FAIL: style.red("✗")}
    print(style.bold(title))
    for check in checks:
        print(f"{marks[check.status]} {check.name.ljust(width)}  {check.found}")
        if check.todo:
            print(f"  {' ' * width}  {style.dim('→ ' + check.todo)}")


def doctor_command(args: argparse.Namespace) -> int:
    with client_of(args) as client:
        remote = check_service(client)
        url = client.url
    local = is_local(url) or args.local
    machine: list[Check] = []
    if local:
        settings, config = check_settings()
        machine = [settings, *asyncio.run(_local_checks(config))]
    style = Style(sys.stdout)
    width = max(len(c.name) for c in [*remote, *machine])
    _show(f"The service at {url}", remote, style, width)
    print()
    if local:
        _show("This machine (what `tinirun serve` needs here)", machine, style, width)
    else:
        print(style.bold("This machine"))
        print(style.dim("· not checked: the service runs elsewhere; `tinirun doctor --local` "
                        "checks what `tinirun serve` would need here"))
    failed = [c.name for c in [*remote, *machine] if c.status == FAIL]
    if failed:
        print(style.red(f"{len(failed)} problem(s): {', '.join(failed)}"))
        return EXIT_PROBLEMS
    return EXIT_OK
