"""docs/tutorial.md, run as a reader runs it: every command in order, checked against the page.

The page is the script (see ``tests/_tutorial_doc.py`` for how it is read): ``make run`` starts
the real ``rampart run``, ``rampart demo host`` the real sshd in a network namespace, and each
later command runs in one bash session whose variables carry over, as in the reader's second
terminal. Each command must exit 0 and print what the page shows; a ``retry`` block's commands
run again until they do. The browser step opens the e-mailed link and uses the page's form as
a person would.

Only what the page cannot fix for everyone is changed: the commands run in a folder of their own
that looks like the clone (links to its files, its own ``.rampart``), Rampart listens on a free
port instead of 8000 (``127.0.0.1:8000`` in the page becomes that port), the CLI keeps no
config file of the machine's, and where this machine has no ``sudo`` (the test runs as root)
``sudo`` is a command that runs its arguments.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from rampart.cli._demo import NAMESPACE, OUTER
from rampart.cli._namespace_host import (
    missing_packages,
    namespace_exists,
    process_alive,
    stop_host,
)
from tests._eventually import eventually
from tests._processes import free_port, process_env
from tests._tutorial_doc import (
    BrowserVisit,
    Command,
    Page,
    fill,
    match_output,
    normalise,
    read_steps,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = REPO / "docs" / "tutorial.md"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
RETRY_S = 60.0
START_S = 180.0


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true and {reason}: CI must run the tutorial", pytrace=False)
    pytest.skip(reason)


def _clone_like(folder: Path) -> None:
    """A folder that looks like the clone: its files linked, a data folder of its own."""
    folder.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in {".rampart", ".git"}:
            (folder / entry.name).symlink_to(entry)


def _sudo_shim(folder: Path) -> Path | None:
    """As root without sudo, a ``sudo`` that runs its arguments (it would do no more for root)."""
    if subprocess.run(["sh", "-c", "command -v sudo"], capture_output=True).returncode == 0:
        return None
    folder.mkdir()
    shim = folder / "sudo"
    shim.write_text('#!/bin/sh\nexec "$@"\n')
    shim.chmod(0o755)
    return folder


class Session:
    """The reader's second terminal: one bash whose variables live on between commands."""

    def __init__(self, cwd: Path, env: dict[str, str], state: Path, port: int) -> None:
        self.cwd, self.env, self.state, self.port = cwd, env, state, port
        self.values: dict[str, str] = {}
        state.write_text("")

    def text(self, raw: str) -> str:
        """A command or output line of the page, as this run sees it."""
        return raw.replace("127.0.0.1:8000", f"127.0.0.1:{self.port}")

    def run(self, command: str) -> tuple[int, str]:
        """Run a command; its exit status and what it printed (both streams, in order)."""
        state = shlex.quote(str(self.state))
        script = (
            f"set -a; . {state}; set -o pipefail\n{command}\n"
            f"status=$?; export -p > {state}.next && mv {state}.next {state}; exit $status\n"
        )
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
        )
        return done.returncode, done.stdout

    def variable(self, name: str) -> str:
        """A shell variable of the session, such as one a command assigned."""
        return self.run(f'printf %s "${name}"')[1]


def _mismatch(command: Command, code: int, output: str) -> str:
    return (
        f"docs/tutorial.md line {command.line}: `{command.text}` exited {code} and printed:\n"
        f"{output}\n--- the page says one sees:\n" + "\n".join(command.expected)
    )


async def _take(session: Session, command: Command) -> None:
    text = session.text(fill(command.text, session.values))
    expected = [session.text(line) for line in command.expected]
    last: list[Any] = [None, ""]

    async def attempt() -> list[dict[str, str]]:
        """The values captured, in a list that is empty when the output differs."""
        code, output = await asyncio.to_thread(session.run, text)
        last[:] = [code, output]
        found = match_output(expected, output, session.values) if code == 0 else None
        return [] if found is None else [found]

    if command.retry:
        try:
            [found] = await eventually(attempt, timeout=RETRY_S, interval=0.5, what=text)
        except AssertionError:
            raise AssertionError(_mismatch(command, *last)) from None
    else:
        shown = await attempt()
        assert shown, _mismatch(command, *last)
        [found] = shown
    session.values.update(found)


async def _start(session: Session, command: Command, log: Path) -> subprocess.Popen[bytes]:
    """Start a long-running command in a session of its own; wait until it shows its lines."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            ["bash", "-c", f"exec {session.text(command.text)}"],
            cwd=session.cwd,
            env={**session.env, "RAMPART_PORT": str(session.port)},
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    expected = [session.text(line) for line in command.expected]

    def printed() -> str:
        return log.read_text(errors="replace")

    def shown() -> list[dict[str, str]]:
        assert process.poll() is None, f"`{command.text}` ended:\n{printed()[-3000:]}"
        found = match_output(expected, printed(), session.values)
        return [] if found is None else [found]

    try:
        [found] = await eventually(shown, timeout=START_S, interval=0.25, what=command.text)
    except AssertionError:
        raise AssertionError(
            f"docs/tutorial.md line {command.line}: `{command.text}` did not show what the page "
            f"says:\n{printed()[-3000:]}"
        ) from None
    session.values.update(found)
    return process


def _stop(process: subprocess.Popen[bytes]) -> int:
    """Ctrl-C, as the reader ends ``make run``: SIGINT to its process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            return process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    return process.wait(timeout=30)


async def _visit(session: Session, visit: BrowserVisit) -> None:
    """Open the link and use its page: pick the radio buttons, press the buttons, read it."""
    url = session.values[visit.link]
    async with httpx.AsyncClient(timeout=30) as browser:
        response = await browser.get(url)
        page = Page(response.text)
        for phrase in visit.phrases:
            assert response.status_code == 200, f"{response.status_code}: {response.text[:500]}"
            wanted = normalise(phrase)
            forms = [f for f in page.forms if wanted in f.radios or wanted in f.buttons]
            if not forms:
                assert wanted in page.text, f"the page does not show **{phrase}**: {page.text}"
                continue
            form = forms[0]
            if wanted in form.radios:
                name, value = form.radios[wanted]
                form.fields[name] = value
                continue
            target = urljoin(str(response.url), form.action or "")
            response = await browser.post(target, data=form.fields)
            page = Page(response.text)
        assert response.status_code == 200, f"{response.status_code}: {response.text[:500]}"


async def test_the_tutorial_does_what_it_says(tmp_path: Path) -> None:
    missing = missing_packages()
    if missing:
        _unavailable(f"missing system packages: {', '.join(missing)}")
    if os.geteuid() != 0:
        _unavailable("the tutorial's demo host needs root")
    if namespace_exists(NAMESPACE):
        pytest.fail(f"a demo host is up on this machine ({NAMESPACE}): tear it down first")
    clone = tmp_path / "rampart"
    _clone_like(clone)
    port = free_port()
    shim = _sudo_shim(tmp_path / "bin")
    env = process_env(
        {
            "RAMPART_URL": f"http://127.0.0.1:{port}",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "COLUMNS": "200",
            "NO_COLOR": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if shim is not None:
        env["PATH"] = f"{shim}:{env['PATH']}"
    session = Session(clone, env, tmp_path / "session.sh", port)
    steps = read_steps(TUTORIAL)
    servers: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    try:
        for step in steps:
            began = time.monotonic()
            if isinstance(step, BrowserVisit):
                await _visit(session, step)
            elif step.long_running:
                servers.append(await _start(session, step, tmp_path / "make-run.log"))
            else:
                await _take(session, step)
            print(f"{time.monotonic() - began:6.1f} s  line {step.line}")
        elapsed = time.monotonic() - started
        # what the page's output says, checked at the source as well
        event, pid = session.values["event-id"], int(session.values["pid"])
        owner = session.variable("OWNER")
        token = session.values["token"]
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
        ) as api:
            page = await api.get("/api/v1/action-runs", params={"event_id": event})
        runs = page.json()["items"]
        by_action = {r["action"]: r for r in runs}
        terminate = by_action["terminate process"]
        assert terminate["status"] == "success", terminate
        assert owner in (terminate["decided_by"] or ""), terminate
        assert by_action["get process dump"]["decided_by"] is None, "a dump needs no approval"
        assert not process_alive(pid)
        assert not namespace_exists(NAMESPACE), "the page's last command tears the host down"
        assert elapsed < 600, f"the tutorial took {elapsed:.0f} s, not under ten minutes"
    finally:
        ends = [_stop(server) for server in servers]
        stop_host(namespace=NAMESPACE, outer=OUTER)
    # Ctrl-C ends make by the signal, once Rampart has stopped with PostgreSQL
    assert ends == [-signal.SIGINT], ends
    assert "Finished server process" in _tail(tmp_path / "make-run.log")
    assert not (clone / ".rampart" / "pgdata" / "postmaster.pid").exists()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def test_the_demo_host_says_it_needs_root(tmp_path: Path) -> None:
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if os.geteuid() != 0:
        nobody = []
    elif subprocess.run(["sh", "-c", "command -v setpriv"], capture_output=True).returncode:
        _unavailable("setpriv (util-linux) is needed to run the command as another user")
    tmp_path.chmod(0o777)
    done = subprocess.run(
        [*nobody, str(REPO / ".venv" / "bin" / "rampart"), "demo", "host"],
        cwd=tmp_path,
        env=process_env({}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 6, done
    assert "rampart demo host needs root" in done.stderr
    assert "sudo" in done.stderr
    assert not (tmp_path / ".rampart").exists(), "nothing is made without root"


def test_every_step_of_the_page_is_read() -> None:
    steps = read_steps(TUTORIAL)
    commands = [s for s in steps if isinstance(s, Command)]
    assert [c.text for c in commands if c.long_running] == ["make run"]
    assert commands[-1].text == "sudo .venv/bin/rampart demo host --down"
    [visit] = [s for s in steps if isinstance(s, BrowserVisit)]
    assert visit.phrases[-1] == "Your decision was recorded: approve"
    assert all(c.expected or c.text.startswith(("source ", "export ")) for c in commands)


def test_an_output_that_differs_from_the_page_does_not_match() -> None:
    expected = ["...", "  malware      pid <pid> (demo-malware): running", "..."]
    shown = "The demo host is up\n  malware      pid 4242 (demo-malware): running\nbye\n"
    assert match_output(expected, shown, {}) == {"pid": "4242"}
    assert match_output(expected, shown.replace("running", "not running"), {}) is None
    assert match_output(expected, shown, {"pid": "4243"}) is None
    assert match_output(["│ <id> │ web-01 │ … │"], "│ a1  │  web-01 │ x, y │", {}) == {"id": "a1"}
    assert match_output(["one", "two"], "one\nextra\ntwo\n", {}) is None
