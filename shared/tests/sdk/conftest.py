"""Fixtures of the SDK's tests: the code examples of docs/connectors.md, and installing a
connector package the way pip would."""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
CONNECTORS_DOC = ROOT / "docs" / "connectors.md"


def docs_example(name: str) -> str:
    """The code block after ``<!-- example: name -->`` in docs/connectors.md, as shown."""
    marker = f"<!-- example: {name} -->"
    text = CONNECTORS_DOC.read_text()
    assert marker in text, f"docs/connectors.md lost its {marker}"
    after = text.split(marker, 1)[1]
    return after.split("```python\n", 1)[1].split("\n```", 1)[0] + "\n"


@pytest.fixture(scope="session")
def static_list_source() -> str:
    """The minimal connector of docs/connectors.md, exactly as the page shows it."""
    return docs_example("static_list.py")


@pytest.fixture
def install_plugin(tmp_path: Path) -> Iterator[Callable[[dict[str, str], dict[str, str]], str]]:
    """Install a package with ``rampart.connectors`` entry points the way pip would: a
    module and a ``.dist-info`` folder on sys.path. Returns a function
    ``install(modules: dict[str, str], entry_points: dict[str, str]) -> package name``."""
    added: list[str] = []
    packages: list[str] = []

    def install(modules: dict[str, str], entry_points: dict[str, str]) -> str:
        package = f"rampart_plugin_{uuid.uuid4().hex[:8]}"
        site = tmp_path / f"site-{package}"
        (site / package).mkdir(parents=True)
        (site / package / "__init__.py").write_text("")
        for name, source in modules.items():
            (site / package / f"{name}.py").write_text(source)
        info = site / f"{package}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
        lines = [f"{k} = {package}.{v}" for k, v in entry_points.items()]
        (info / "entry_points.txt").write_text("[rampart.connectors]\n" + "\n".join(lines) + "\n")
        sys.path.insert(0, str(site))
        added.append(str(site))
        packages.append(package)
        importlib.invalidate_caches()
        return package

    yield install
    for site in added:
        sys.path.remove(site)
    for name in [m for m in sys.modules if m.split(".")[0] in packages]:
        del sys.modules[name]
    importlib.invalidate_caches()


@pytest.fixture
def import_source(tmp_path: Path) -> Iterator[Callable[[str, str], Any]]:
    """Import source text as a top-level module of the given name; removed after the test."""
    names: list[str] = []
    sys.path.insert(0, str(tmp_path))

    def load(name: str, source: str) -> Any:
        (tmp_path / f"{name}.py").write_text(source)
        importlib.invalidate_caches()
        names.append(name)
        return importlib.import_module(name)

    yield load
    sys.path.remove(str(tmp_path))
    for name in names:
        sys.modules.pop(name, None)
    importlib.invalidate_caches()


@pytest.fixture(scope="session")
def doc_example() -> Callable[[str], str]:
    """``doc_example("name.py")``: a code block of docs/connectors.md by its marker."""
    return docs_example
