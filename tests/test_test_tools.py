"""deploy/test-packages.txt names every system tool a test looks for, so `make test` installs it."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIST = ROOT / "deploy" / "test-packages.txt"
TEST_FOLDERS = ("tests", "shared/tests", "connectors/tests", "services")
# modules outside the test folders whose tools the tests drive through them (the ssh tests make
# their host with the demo host's namespace module)
TOOL_MODULES = ("src/rampart/cli/_namespace_host.py",)


def listed() -> dict[str, str]:
    """Tool → package, from the list (commands are compared by their last path part)."""
    entries: dict[str, str] = {}
    for line in LIST.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            tool, package = words[:2]
            entries[Path(tool).name] = package
    return entries


def _constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }


def looked_up_tools() -> dict[str, str]:
    """Tool → test file, for every ``shutil.which("tool")`` and ``TOOLS = {tool: package}``."""
    found: dict[str, str] = {}
    paths = [p for folder in TEST_FOLDERS for p in sorted((ROOT / folder).rglob("*.py"))]
    for path in [*paths, *(ROOT / m for m in TOOL_MODULES)]:
        if "tests" not in path.parts and str(path.relative_to(ROOT)) not in TOOL_MODULES:
            continue
        tree = ast.parse(path.read_text())
        names = _constants(tree)
        for node in ast.walk(tree):
            keys: list[ast.expr] = []
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "which"
            ):
                keys = node.args[:1]
            elif (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "TOOLS" for t in node.targets)
                and isinstance(node.value, ast.Dict)
            ):
                keys = [k for k in node.value.keys if k is not None]
            for key in keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    tool = key.value
                elif isinstance(key, ast.Name) and key.id in names:
                    tool = names[key.id]
                else:
                    continue
                found[Path(tool).name] = str(path.relative_to(ROOT))
    return found


def test_every_tool_a_test_looks_for_is_in_the_list() -> None:
    tools = looked_up_tools()
    assert {"logger", "rabbitmqctl", "sshd", "nft"} <= set(tools), tools
    missing = {tool: where for tool, where in tools.items() if tool not in listed()}
    assert not missing, f"add these to {LIST.relative_to(ROOT)}: {missing}"


def test_the_installer_is_quiet_when_nothing_is_missing(tmp_path: Path) -> None:
    present = tmp_path / "present.txt"
    present.write_text("# a comment\n\nsh   dash   # the shell itself\n")
    run = subprocess.run(
        ["bash", str(ROOT / "deploy" / "test-tools.sh"), str(present)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == run.stderr == ""
