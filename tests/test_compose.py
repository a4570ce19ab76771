"""docker-compose.yml and deploy/Dockerfile checked against the code they run.

No Docker engine runs here, so the files are parsed and compared with what the code
accepts: the service names of ``rampart serve``, its options, the ``Settings`` fields and
what distributed mode requires, the probe routes, and the workspace distributions.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml
from pydantic import ValidationError

from rampart.cli import app
from rampart.cli._services import SERVICES
from rampart.core.crypto import Keyring
from rampart.core.platform_routes import probes_router
from rampart.core.settings import Mode, Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"

INFRA = ("rabbitmq", "postgres")
PORT = 8000
# What Settings' validator demands in distributed mode; test_required_variables_match_the_code
# keeps this list honest.
DISTRIBUTED_REQUIRED = frozenset({"RAMPART_MASTER_KEY", "RAMPART_DATABASE_URL", "RAMPART_AMQP_URL"})
SECRET_NAME = re.compile(r"(PASSWORD|PASS|SECRET|TOKEN|KEY|KEYS)$")
REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")


# --- reading the files -------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


COMPOSE = _compose()
COMPOSE_SERVICES: dict[str, dict[str, Any]] = COMPOSE.get("services") or {}


def _environment(service: str) -> dict[str, str]:
    """A compose service's environment as a dict, whether written as a mapping or a list."""
    env = COMPOSE_SERVICES[service].get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {name: value for name, value in pairs}
    return {str(name): "" if value is None else str(value) for name, value in env.items()}


def _strings(node: Any) -> list[str]:
    """Every string value in parsed YAML (comments are gone by then)."""
    if isinstance(node, dict):
        return [text for value in node.values() for text in _strings(value)]
    if isinstance(node, list):
        return [text for value in node for text in _strings(value)]
    return [node] if isinstance(node, str) else []


COMPOSE_TEXT = "\n".join(_strings(COMPOSE))


def _references(text: str = COMPOSE_TEXT) -> list[re.Match[str]]:
    return list(REFERENCE.finditer(text))


SAMPLES: dict[str, str] = {
    "POSTGRES_PASSWORD": "sample-pg-password",
    "RABBITMQ_PASSWORD": "sample-mq-password",
    "RAMPART_MASTER_KEY": Keyring.generate_key_text(),
}


def _substitute(value: str) -> str:
    """``value`` as compose would expand it with SAMPLES as the shell environment."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"] or "", match["arg"] or ""
        if name in SAMPLES:
            return SAMPLES[name]
        if op.endswith("-"):
            return arg
        if op.endswith("?"):
            return f"sample-{name.lower().replace('_', '-')}"
        return ""

    return REFERENCE.sub(one, value)


@dataclass
class Stage:
    """One FROM ... stage of the Dockerfile and its instructions."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


def _dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        current = ""
    assert not current, f"Dockerfile ends inside a continued line: {current!r}"
    return instructions


DOCKER_INSTRUCTIONS = _dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))


def _stages() -> tuple[list[tuple[str, str]], list[Stage]]:
    """(instructions before the first FROM, the stages in order)."""
    preamble: list[tuple[str, str]] = []
    stages: list[Stage] = []
    for keyword, rest in DOCKER_INSTRUCTIONS:
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif stages:
            stages[-1].instructions.append((keyword, rest))
        else:
            preamble.append((keyword, rest))
    return preamble, stages


PREAMBLE, STAGES = _stages()
STAGE_BY_NAME = {stage.name: stage for stage in STAGES if stage.name}


def _base(stage: Stage, service: str) -> str:
    """The stage's FROM with the build arg SERVICE set to ``service``."""
    return stage.base.replace("${SERVICE}", service).replace("$SERVICE", service)


def _lineage(stage: Stage, service: str) -> list[Stage]:
    """``stage`` and the stages it is built FROM (for build arg ``service``), nearest first."""
    chain = [stage]
    while _base(chain[-1], service) in STAGE_BY_NAME:
        chain.append(STAGE_BY_NAME[_base(chain[-1], service)])
    return chain


def _last(service: str, keyword: str, stage: Stage | None = None) -> str | None:
    """The effective value of a single-valued instruction (CMD, ENTRYPOINT, USER...) in the
    image built with SERVICE=``service`` (or in ``stage``)."""
    for member in _lineage(stage or STAGES[-1], service):
        for kw, rest in reversed(member.instructions):
            if kw == keyword:
                return rest
    return None


def _image_env(service: str) -> dict[str, str]:
    """The ENV of the image built with SERVICE=``service``."""
    env: dict[str, str] = {}
    for member in reversed(_lineage(STAGES[-1], service)):
        for kw, rest in member.instructions:
            if kw == "ENV":
                for word in shlex.split(rest):
                    name, _, value = word.partition("=")
                    env[name] = value
    return env


def _arg_names(instructions: list[tuple[str, str]]) -> set[str]:
    return {rest.split("=", 1)[0].strip() for kw, rest in instructions if kw == "ARG"}


def _serve_command() -> Any:
    group: Any = typer.main.get_command(app)
    assert "serve" in group.commands, f"`rampart` has no serve command: {sorted(group.commands)}"
    return group.commands["serve"]


def _probe_url(test: list[str]) -> str:
    """Run a ``python -c`` probe with urlopen stubbed, and return the URL it asks for."""
    assert test[:3] == ["CMD", "python", "-c"], f"probe is not `python -c ...`: {test}"
    code = test[3]
    asked: list[str] = []

    def fake_urlopen(url: str, *args: Any, **kwargs: Any) -> None:
        assert "timeout" in kwargs or args, f"probe {code!r} sets no timeout"
        asked.append(url)

    real = urllib.request.urlopen
    urllib.request.urlopen = fake_urlopen  # type: ignore[assignment]
    try:
        exec(compile(code, "<healthcheck>", "exec"), {})  # noqa: S102 - our own probe text
    finally:
        urllib.request.urlopen = real
    assert len(asked) == 1, f"probe {code!r} should open one URL, opened {asked}"
    return asked[0]


def _probe_paths() -> set[str]:
    return {getattr(route, "path", "") for route in probes_router.routes}


# --- the service list --------------------------------------------------------------------


def test_compose_runs_exactly_the_cli_services_plus_infrastructure() -> None:
    expected = set(SERVICES) | set(INFRA)
    actual = set(COMPOSE_SERVICES)
    assert actual == expected, (
        f"compose services missing: {sorted(expected - actual)}; "
        f"unknown to rampart serve: {sorted(actual - expected)}"
    )


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_command_is_a_valid_rampart_serve_invocation(service: str) -> None:
    command = COMPOSE_SERVICES[service].get("command")
    assert isinstance(command, list), f"{service}: command should be an exec-form list"
    assert command[0] == service, f"{service}: command[0] is {command[0]!r}, not {service!r}"
    assert command[0] in SERVICES, f"{service}: {command[0]!r} is not a `rampart serve` service"
    serve = _serve_command()
    accepted = {opt for param in serve.params for opt in getattr(param, "opts", [])}
    flags = [word for word in command[1:] if word.startswith("-")]
    unknown = [flag for flag in flags if flag not in accepted]
    assert not unknown, f"{service}: rampart serve has no option {unknown}; it has {accepted}"
    try:
        ctx = serve.make_context("serve", [str(word) for word in command])
    except Exception as exc:  # the CLI's own usage error
        pytest.fail(f"{service}: `rampart serve {' '.join(command)}` is rejected: {exc}")
    assert ctx.params.get("service") == service, f"{service}: parsed as {ctx.params}"
    assert ctx.params.get("port") == PORT, f"{service}: should listen on {PORT}: {ctx.params}"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_builds_the_shared_dockerfile_with_its_name(service: str) -> None:
    build = COMPOSE_SERVICES[service].get("build")
    assert isinstance(build, dict), f"{service}: build should be a mapping"
    assert build.get("context") == ".", f"{service}: build context {build.get('context')!r}"
    assert (ROOT / build.get("dockerfile", "")).resolve() == DOCKERFILE, (
        f"{service}: dockerfile {build.get('dockerfile')!r} is not deploy/Dockerfile"
    )
    assert (build.get("args") or {}).get("SERVICE") == service, (
        f"{service}: build arg SERVICE is {(build.get('args') or {}).get('SERVICE')!r}"
    )


# --- settings ----------------------------------------------------------------------------


def test_required_variables_match_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("RAMPART_"):
            monkeypatch.delenv(name)
    with pytest.raises(ValidationError) as caught:
        Settings(mode=Mode.DISTRIBUTED)
    named = set(re.findall(r"RAMPART_[A-Z_]+", str(caught.value)))
    assert named == DISTRIBUTED_REQUIRED, (
        f"Settings requires {sorted(named)} in distributed mode; this test assumes "
        f"{sorted(DISTRIBUTED_REQUIRED)}"
    )


def test_settings_env_prefix_is_rampart() -> None:
    assert Settings.model_config.get("env_prefix") == "RAMPART_"


def _rampart_names_in_compose() -> set[str]:
    names = {m["name"] for m in _references()}
    for service in COMPOSE_SERVICES:
        names |= set(_environment(service))
    return {name for name in names if name.startswith("RAMPART_")}


def test_every_rampart_variable_in_compose_is_a_settings_field() -> None:
    unknown = sorted(
        name
        for name in _rampart_names_in_compose()
        if name.removeprefix("RAMPART_").lower() not in Settings.model_fields
    )
    assert not unknown, f"compose names RAMPART_* variables Settings has no field for: {unknown}"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_rampart_variable_in_the_image_is_a_settings_field(service: str) -> None:
    unknown = sorted(
        name
        for name in _image_env(service)
        if name.startswith("RAMPART_")
        and name.removeprefix("RAMPART_").lower() not in Settings.model_fields
    )
    assert not unknown, f"the Dockerfile sets RAMPART_* variables Settings lacks: {unknown}"


def _container_env(service: str) -> dict[str, str]:
    """The RAMPART_* environment a container gets: image ENV, then compose, expanded."""
    env = {k: v for k, v in _image_env(service).items() if k.startswith("RAMPART_")}
    env.update({name: _substitute(value) for name, value in _environment(service).items()})
    return env


def _settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    with monkeypatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("RAMPART_"):
                patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        return Settings(mode=Mode.DISTRIBUTED)  # as `rampart serve` builds it


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_compose_environment_validates_as_distributed_settings(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _environment(service)
    missing = sorted(DISTRIBUTED_REQUIRED - set(env))
    assert not missing, f"{service}: distributed mode needs {missing} in its environment"
    assert env.get("RAMPART_MODE") == Mode.DISTRIBUTED.value, f"{service}: RAMPART_MODE"
    assert env.get("RAMPART_HOST") == "0.0.0.0", f"{service}: must listen on all interfaces"

    container = _container_env(service)
    try:
        settings = _settings_from(container, monkeypatch)
    except ValidationError as exc:
        pytest.fail(f"{service}: its environment does not validate as Settings: {exc}")
    assert settings.mode is Mode.DISTRIBUTED
    assert settings.host == "0.0.0.0"
    Keyring.from_settings(settings)  # the sample key is accepted where the real one goes

    for name in sorted(DISTRIBUTED_REQUIRED):
        without = {k: v for k, v in container.items() if k != name}
        with pytest.raises(ValidationError, match=name):
            _settings_from(without, monkeypatch)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_connection_urls_point_at_the_compose_infrastructure(service: str) -> None:
    env = _environment(service)
    postgres = _environment("postgres")
    rabbitmq = _environment("rabbitmq")

    db = urlsplit(_substitute(env["RAMPART_DATABASE_URL"]))
    assert db.scheme in {"postgresql", "postgres"}, f"{service}: database scheme {db.scheme}"
    assert (db.hostname, db.port) == ("postgres", 5432), f"{service}: database at {db.netloc}"
    assert db.username == postgres.get("POSTGRES_USER"), f"{service}: database user"
    assert db.password == _substitute(postgres["POSTGRES_PASSWORD"]), (
        f"{service}: database password is not the postgres service's POSTGRES_PASSWORD"
    )
    assert db.path.lstrip("/") == postgres.get("POSTGRES_DB"), f"{service}: database name"

    mq = urlsplit(_substitute(env["RAMPART_AMQP_URL"]))
    assert mq.scheme in {"amqp", "amqps"}, f"{service}: AMQP scheme {mq.scheme}"
    assert (mq.hostname, mq.port) == ("rabbitmq", 5672), f"{service}: AMQP at {mq.netloc}"
    assert mq.username == rabbitmq.get("RABBITMQ_DEFAULT_USER"), f"{service}: AMQP user"
    assert mq.password == _substitute(rabbitmq["RABBITMQ_DEFAULT_PASS"]), (
        f"{service}: AMQP password is not the rabbitmq service's RABBITMQ_DEFAULT_PASS"
    )


# --- secrets -----------------------------------------------------------------------------


def _required_reference(text: str) -> bool:
    match = REFERENCE.fullmatch(text)
    return match is not None and match["op"] == ":?"


def _url_password(value: str) -> str | None:
    """The raw password part of a ``scheme://user:password@host`` value, if it has one."""
    if "://" not in value:
        return None
    rest = value.split("://", 1)[1]
    userinfo, at, _ = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return None
    return userinfo.split(":", 1)[1]


def test_no_literal_secrets_in_compose() -> None:
    problems: list[str] = []
    for service in COMPOSE_SERVICES:
        for name, value in _environment(service).items():
            if SECRET_NAME.search(name) and not _required_reference(value):
                problems.append(f"{service}.{name} = {value!r} is not a ${{VAR:?...}} reference")
            password = _url_password(value)
            if password is not None and not _required_reference(password):
                problems.append(
                    f"{service}.{name}: URL password {password!r} is not a ${{VAR:?...}} reference"
                )
    assert not problems, "secrets must come from the environment:\n" + "\n".join(problems)


def test_secret_variables_never_have_defaults() -> None:
    bare = re.findall(r"\$(?![{$])\w+", COMPOSE_TEXT)
    assert not bare, f"use ${{VAR:?...}} instead of bare references: {bare}"
    loose = sorted(
        {m[0] for m in _references() if SECRET_NAME.search(m["name"]) and m["op"] != ":?"}
    )
    assert not loose, f"secret variables must be required (${{VAR:?...}}), found {loose}"


def test_env_example_lists_every_variable_with_no_secret_values() -> None:
    required = {m["name"] for m in _references() if m["op"] == ":?"}
    optional = {m["name"] for m in _references() if m["op"] != ":?"}
    assigned: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            name, _, value = stripped.partition("=")
            assigned[name.strip()] = value.strip()
    example = ENV_EXAMPLE.read_text(encoding="utf-8")
    assert required <= set(assigned), (
        f".env.example does not list {sorted(required - set(assigned))}"
    )
    unmentioned = sorted(name for name in optional if name not in example)
    assert not unmentioned, f".env.example does not mention {unmentioned}"
    valued = sorted(name for name in required if assigned[name])
    assert not valued, f".env.example gives {valued} a value; leave secrets empty"
    unknown = sorted(set(assigned) - required - optional)
    assert not unknown, f".env.example sets {unknown}, which compose never reads"
    assert "Keyring.generate_key_text()" in example, ".env.example should say how to make a key"


# --- wiring ------------------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_services_wait_for_healthy_infrastructure(service: str) -> None:
    depends = COMPOSE_SERVICES[service].get("depends_on")
    assert isinstance(depends, dict), f"{service}: depends_on should name conditions"
    for infra in INFRA:
        condition = (depends.get(infra) or {}).get("condition")
        assert condition == "service_healthy", f"{service}: {infra} condition is {condition!r}"
    for dependency, spec in depends.items():
        if (spec or {}).get("condition") == "service_healthy":
            assert COMPOSE_SERVICES[dependency].get("healthcheck"), (
                f"{service} waits for {dependency} to be healthy but it has no healthcheck"
            )


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_service_healthcheck_probes_readiness(service: str) -> None:
    healthcheck = COMPOSE_SERVICES[service].get("healthcheck") or {}
    url = _probe_url(healthcheck.get("test") or [])
    parts = urlsplit(url)
    assert (parts.hostname, parts.port) == ("127.0.0.1", PORT), f"{service}: probes {url}"
    assert parts.path == "/readyz", f"{service}: probes {parts.path}, not /readyz"
    assert parts.path in _probe_paths(), f"{service}: no route {parts.path}"


def test_infrastructure_healthchecks() -> None:
    rabbit = COMPOSE_SERVICES["rabbitmq"]
    assert rabbit.get("image") == "rabbitmq:3.13-management"
    assert "rabbitmq-diagnostics -q ping" in " ".join(rabbit["healthcheck"]["test"])
    postgres = COMPOSE_SERVICES["postgres"]
    assert postgres.get("image") == "postgres:16"
    assert _environment("postgres").get("POSTGRES_DB") == "rampart"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volumes = set(COMPOSE.get("volumes") or {})
    mounted = {str(v).split(":", 1)[0] for v in postgres.get("volumes") or []}
    assert mounted & volumes, f"postgres keeps its data in no named volume: {mounted}"


# The two doors people and SIEMs use; every other service must scale freely.
PUBLISHED = ["console", "ingest"]


def test_only_ingest_and_the_console_publish_a_port() -> None:
    publishing = sorted(name for name, svc in COMPOSE_SERVICES.items() if svc.get("ports"))
    assert publishing == PUBLISHED, (
        f"only {PUBLISHED} may publish ports (others must scale freely); publishing: {publishing}"
    )
    for name in PUBLISHED:
        ports = [str(p) for p in COMPOSE_SERVICES[name]["ports"]]
        container_ports = {int(p.rsplit(":", 1)[-1].split("/")[0]) for p in ports}
        assert container_ports == {PORT}, f"{name} publishes {ports}; it listens on {PORT}"


def test_every_service_restarts_unless_stopped() -> None:
    wrong = {n: s.get("restart") for n, s in COMPOSE_SERVICES.items()}
    wrong = {n: r for n, r in wrong.items() if r != "unless-stopped"}
    assert not wrong, f"restart policy should be unless-stopped: {wrong}"


# --- Dockerfile --------------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_image_runs_rampart_serve_with_the_service_name(service: str) -> None:
    entrypoint = _last(service, "ENTRYPOINT")
    assert entrypoint is not None, f"the {service} image has no ENTRYPOINT"
    assert json.loads(entrypoint) == ["rampart", "serve"], f"ENTRYPOINT {entrypoint}"
    cmd = _last(service, "CMD")
    assert cmd is not None, f"the {service} image has no CMD"
    assert json.loads(cmd) == [service], f"the {service} image's CMD is {cmd}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"].get("rampart") == "rampart.cli:main", (
        "the `rampart` script is not rampart.cli:main"
    )
    _serve_command()


def test_dockerfile_uses_the_service_build_arg() -> None:
    assert "SERVICE" in _arg_names(PREAMBLE), "ARG SERVICE must come before the first FROM"
    final = STAGES[-1]
    assert "${SERVICE}" in final.base, f"the final stage is FROM {final.base}, not by SERVICE"
    build_stages = [
        s for s in STAGES if any(kw == "RUN" and "uv sync" in r for kw, r in s.instructions)
    ]
    assert build_stages, "no stage runs uv sync"
    for stage in build_stages:
        assert "SERVICE" in _arg_names(stage.instructions), f"{stage.name} does not take SERVICE"
        runs = " ".join(r for kw, r in stage.instructions if kw == "RUN")
        assert "$SERVICE" in runs or "${SERVICE" in runs, f"{stage.name} never uses $SERVICE"
        for flag in ("--locked", "--no-dev", "--package"):
            assert flag in runs, f"{stage.name}: uv sync without {flag}"


def test_dockerfile_service_lists_match_the_cli() -> None:
    text = " ".join(rest for kw, rest in DOCKER_INSTRUCTIONS if kw == "RUN")
    cases = re.findall(r"(\b[a-z-]+(?:\|[a-z-]+)+)\)", text)
    assert cases, "no `case` of service names in the Dockerfile"
    for case in cases:
        assert set(case.split("|")) == set(SERVICES), f"case {case} differs from SERVICES"
    loops = re.findall(r"for \w+ in ([a-z -]+);", text)
    assert loops, "no loop over service names in the Dockerfile"
    for loop in loops:
        assert set(loop.split()) == set(SERVICES), f"loop over {loop} differs from SERVICES"


def test_each_service_is_the_distribution_rampart_dash_name() -> None:
    # The Dockerfile installs "rampart-$SERVICE"; that must be the service's distribution.
    for name, spec_module in SERVICES.items():
        pyproject = ROOT / "services" / name / "pyproject.toml"
        assert pyproject.is_file(), f"{name}: no {pyproject.relative_to(ROOT)}"
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        assert project["name"] == f"rampart-{name}", f"{name}: distribution {project['name']}"
        module_path = Path(*spec_module.split("."))
        assert (pyproject.parent / "src" / module_path.with_suffix(".py")).is_file(), (
            f"{spec_module} is not in services/{name}/src"
        )


def test_dockerfile_copies_every_workspace_pyproject_before_syncing() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    members = [
        path.relative_to(ROOT).as_posix()
        for pattern in project["tool"]["uv"]["workspace"]["members"]
        for path in sorted(ROOT.glob(f"{pattern}/pyproject.toml"))
    ]
    copies = " ".join(rest for kw, rest in DOCKER_INSTRUCTIONS if kw == "COPY")
    missing = [member for member in members if member not in copies]
    assert not missing, f"the dependency layer lacks {missing}; uv sync --locked needs them"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_image_runtime_settings(service: str) -> None:
    user = _last(service, "USER")
    assert user is not None, f"the {service} image runs as root (no USER)"
    assert user.split(":")[0] not in {"root", "0"}, f"the {service} image runs as {user}"
    env = _image_env(service)
    assert env.get("RAMPART_MODE") == "distributed", f"image ENV {env}"
    assert env.get("RAMPART_HOST") == "0.0.0.0", f"image ENV {env}"
    expose = _last(service, "EXPOSE")
    assert expose is not None, f"the {service} image exposes no port"
    assert str(PORT) in expose.split(), f"the {service} image exposes {expose}, not {PORT}"


def test_base_images_are_python_311_slim() -> None:
    args = dict(rest.split("=", 1) for kw, rest in PREAMBLE if kw == "ARG" and "=" in rest)
    external = {
        stage.base
        for stage in STAGES
        if not any(_base(stage, name) in STAGE_BY_NAME for name in SERVICES)
    }
    resolved = {args.get(b[2:-1], b) if b.startswith("${") else b for b in external}
    assert resolved == {"python:3.11-slim"}, f"base images {resolved}"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_image_healthcheck_probes_liveness(service: str) -> None:
    healthcheck = _last(service, "HEALTHCHECK")
    assert healthcheck is not None, f"the {service} image has no HEALTHCHECK"
    test = json.loads(healthcheck[healthcheck.index("CMD") + 3 :])
    url = _probe_url(["CMD", *test])
    parts = urlsplit(url)
    assert (parts.hostname, parts.port, parts.path) == ("127.0.0.1", PORT, "/healthz"), url
    assert parts.path in _probe_paths(), f"no route {parts.path}"


def test_dockerignore_keeps_local_state_and_secrets_out() -> None:
    entries = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    missing = {".venv", ".tools", ".rampart", ".git", ".env"} - entries
    assert not missing, f".dockerignore should exclude {sorted(missing)}"
    needed = {"pyproject.toml", "uv.lock", "README.md", "src", "shared", "services", "connectors"}
    assert not needed & entries, f".dockerignore excludes files the build needs: {needed & entries}"
