"""Import boundaries: services never import one another, the shared library imports no
service, and connectors use only the shared library.

Services talk over the bus only; an import across services would couple their releases and
break the per-service images of deploy/Dockerfile, which hold one service distribution each.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from rampart.cli._services import SERVICES

ROOT = Path(__file__).resolve().parents[1]

SHARED = frozenset({"core", "sdk"})
# The rampart.<pkg> that each services/<dir>/src/rampart/<pkg> folder provides.
SERVICE_PACKAGES: dict[str, str] = {
    path.parent.parent.parent.name: path.name
    for path in sorted(ROOT.glob("services/*/src/rampart/*"))
    if path.is_dir() and not path.name.startswith(("_", "."))
}
IMPORT_FUNCTIONS = frozenset({"import_module", "__import__"})


@dataclass(frozen=True)
class RampartImport:
    """One import of a ``rampart.<package>`` module found in a source file."""

    line: int
    module: str

    @property
    def package(self) -> str:
        """The top package under the ``rampart`` namespace: ``engine`` for rampart.engine.x."""
        parts = self.module.split(".")
        return parts[1] if len(parts) > 1 else ""


def _resolve_relative(module: str | None, level: int, current: str, is_package: bool) -> str:
    """The absolute module a ``from <dots><module> import`` refers to inside ``current``."""
    parts = current.split(".")
    base = parts if is_package else parts[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def rampart_imports(source: str, *, module: str, is_package: bool = False) -> list[RampartImport]:
    """Every ``rampart.*`` module ``source`` imports: import statements (relative ones
    resolved against ``module``) and string literals passed to import_module/__import__."""
    found: list[RampartImport] = []
    for node in ast.walk(ast.parse(source)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (
                _resolve_relative(node.module, node.level, module, is_package)
                if node.level
                else node.module or ""
            )
            # `from rampart import engine` imports the package rampart.engine.
            targets = (
                [f"rampart.{alias.name}" for alias in node.names] if base == "rampart" else [base]
            )
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in IMPORT_FUNCTIONS and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    targets = [first.value]
        found.extend(
            RampartImport(node.lineno, target)
            for target in targets
            if target.startswith("rampart.")
        )
    return found


def forbidden_imports(
    source: str, *, module: str, allowed: frozenset[str], is_package: bool = False
) -> list[RampartImport]:
    """The ``rampart.*`` imports of ``source`` whose top package is not in ``allowed``."""
    return [
        imp
        for imp in rampart_imports(source, module=module, is_package=is_package)
        if imp.package not in allowed
    ]


def _module_name(path: Path, src: Path) -> tuple[str, bool]:
    relative = path.relative_to(src).with_suffix("")
    is_package = relative.name == "__init__"
    parts = relative.parts[:-1] if is_package else relative.parts
    return ".".join(parts), is_package


def _violations(
    packages: list[Path], allowed: frozenset[str], *, root: Path = ROOT
) -> tuple[int, list[str]]:
    """(files checked, one line per forbidden import) for every .py file under ``packages``."""
    checked = 0
    problems: list[str] = []
    for package in packages:
        src = package.parent.parent  # <area>/src
        for path in sorted(package.rglob("*.py")):
            checked += 1
            module, is_package = _module_name(path, src)
            source = path.read_text(encoding="utf-8")
            for imp in forbidden_imports(
                source, module=module, allowed=allowed, is_package=is_package
            ):
                problems.append(
                    f"{path.relative_to(root).as_posix()}:{imp.line} imports {imp.module} "
                    f"(only rampart.{{{', '.join(sorted(allowed))}}} allowed here)"
                )
    return checked, problems


# --- the checker itself ------------------------------------------------------------------


def test_checker_reports_an_import_of_another_service() -> None:
    source = (
        "from __future__ import annotations\n"
        "import json\n"
        "from rampart.core.messages import ActionRequested\n"
        "from rampart.engine.service import list_playbooks\n"
    )
    found = forbidden_imports(
        source, module="rampart.broker.views", allowed=frozenset({"broker", *SHARED})
    )
    assert found == [RampartImport(4, "rampart.engine.service")], found


@pytest.mark.parametrize(
    ("statement", "module"),
    [
        ("import rampart.ingest.models as models", "rampart.ingest.models"),
        ("from rampart import assets", "rampart.assets"),
        ("from rampart.cli import app", "rampart.cli"),
        ("importlib.import_module('rampart.approvals.spec')", "rampart.approvals.spec"),
        ("import_module('rampart.connectors')", "rampart.connectors"),
        ("from ...engine import spec", "rampart.engine"),
        ("if TYPE_CHECKING:\n    from rampart.ingest import service", "rampart.ingest"),
    ],
)
def test_checker_reports_every_form_of_import(statement: str, module: str) -> None:
    found = forbidden_imports(
        statement,
        module="rampart.broker.sub.views",
        allowed=frozenset({"broker", *SHARED}),
    )
    assert [imp.module for imp in found] == [module], f"{statement!r} gave {found}"


def test_checker_allows_own_package_shared_library_and_relative_imports() -> None:
    source = (
        "import rampart.core\n"
        "from rampart.core.bus import Topology\n"
        "from rampart.sdk import action\n"
        "from rampart.broker import service\n"
        "from . import views\n"
        "from .service import record_request\n"
        "from .. import broker\n"
        "import_module('json')\n"
    )
    found = forbidden_imports(
        source,
        module="rampart.broker",
        allowed=frozenset({"broker", *SHARED}),
        is_package=True,
    )
    assert found == [], f"allowed imports reported as forbidden: {found}"


# --- the tree ----------------------------------------------------------------------------


def test_service_folders_match_the_cli_service_names() -> None:
    assert set(SERVICE_PACKAGES) == set(SERVICES), (
        f"services/* folders {sorted(SERVICE_PACKAGES)} differ from "
        f"rampart.cli._services.SERVICES {sorted(SERVICES)}"
    )
    for name, spec_module in SERVICES.items():
        package = spec_module.split(".")[1]
        assert SERVICE_PACKAGES[name] == package, (
            f"SERVICES[{name!r}] = {spec_module!r} but services/{name}/src/rampart holds "
            f"rampart.{SERVICE_PACKAGES[name]}"
        )


@pytest.mark.parametrize("service", sorted(SERVICE_PACKAGES))
def test_a_service_imports_only_itself_and_the_shared_library(service: str) -> None:
    package = SERVICE_PACKAGES[service]
    root = ROOT / "services" / service / "src" / "rampart" / package
    checked, problems = _violations([root], frozenset({package, *SHARED}))
    assert checked, f"no .py files under {root.relative_to(ROOT)}"
    assert not problems, f"service {service} imports outside its boundary:\n" + "\n".join(problems)


def test_the_shared_library_imports_no_service_connector_or_cli() -> None:
    shared = ROOT / "shared" / "src" / "rampart"
    packages = sorted(p for p in shared.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert {p.name for p in packages} <= SHARED, (
        f"shared/src/rampart holds {[p.name for p in packages]}; expected only {sorted(SHARED)}"
    )
    checked, problems = _violations(packages, SHARED)
    assert checked, "no .py files under shared/src/rampart/{core,sdk}"
    assert not problems, "rampart.core / rampart.sdk import outside the shared library:\n" + (
        "\n".join(problems)
    )


def test_connectors_import_only_the_shared_library_and_themselves() -> None:
    root = ROOT / "connectors" / "src" / "rampart" / "connectors"
    checked, problems = _violations([root], frozenset({"connectors", *SHARED}))
    assert checked, f"no .py files under {root.relative_to(ROOT)}"
    assert not problems, "connectors import a service or the CLI:\n" + "\n".join(problems)


def test_tree_walk_reports_file_and_line(tmp_path: Path) -> None:
    package = tmp_path / "services" / "action-broker" / "src" / "rampart" / "broker"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from . import sub\n", encoding="utf-8")
    (package / "sub" / "__init__.py").write_text("", encoding="utf-8")
    (package / "sub" / "run.py").write_text(
        "import json\nfrom ...ingest import models\n", encoding="utf-8"
    )
    checked, problems = _violations([package], frozenset({"broker", *SHARED}), root=tmp_path)
    assert checked == 3
    assert problems == [
        "services/action-broker/src/rampart/broker/sub/run.py:2 imports rampart.ingest "
        "(only rampart.{broker, core, sdk} allowed here)"
    ], problems
