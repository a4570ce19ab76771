"""docs/tutorial.md read as steps a test can take, and the rules a step's output must follow.

The page's own notation is the format:

* a fenced ``console`` block holds commands (``$ ``, continued by ``> `` lines), each followed
  by the output the reader should see. The block's info string may add ``long-running`` (the
  command keeps running, like ``make run``: its output is watched until it shows the lines) or
  ``retry`` (the commands look at what Rampart does in the background: run again until the
  output matches);
* ``...`` on a line of its own stands for any lines, ``…`` for any part of a line;
* ``<name>`` in an output is a value that run printed: it is captured, must be the same
  wherever it shows again, and is put in place of ``<name>`` in later commands;
* ``<!-- browser <name> -->`` ... ``<!-- /browser -->`` is a visit of the link ``<name>``: the
  **bold** phrases, in order, are controls to use (a radio button's label, a button) or, when
  the page has no such control, text the page must show.

Output lines are compared whole, after blank lines are dropped, runs of spaces and of a table's
rule characters are made one, and the ends are trimmed, so a table's column widths do not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

ANY_LINES = "..."
_PLACEHOLDER = re.compile(r"<([a-z][a-z0-9-]*)>")
_FENCE = re.compile(r"^```(\S*)(.*)$")
_BROWSER = re.compile(r"^<!-- browser <([a-z][a-z0-9-]*)> -->$")
_BROWSER_END = "<!-- /browser -->"
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_RULES = re.compile(r"([━─═])\1+")


@dataclass
class Command:
    """One ``$`` command of a console block and the output shown under it."""

    text: str
    expected: list[str]
    long_running: bool = False
    retry: bool = False
    line: int = 0


@dataclass
class BrowserVisit:
    """A visit of a captured link: controls to use and text to see, in order."""

    link: str
    phrases: list[str]
    line: int = 0


Step = Command | BrowserVisit


def read_steps(path: Path) -> list[Step]:
    """Every command and browser visit of the page, in the page's order."""
    steps: list[Step] = []
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        visit = _BROWSER.match(lines[index].strip())
        if fence and fence[1] == "console":
            words = set(fence[2].split())
            end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
            steps.extend(
                _commands(
                    lines[index + 1 : end], index + 2, "long-running" in words, "retry" in words
                )
            )
            index = end
        elif fence:
            index = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        elif visit:
            end = next(
                i for i in range(index, len(lines)) if lines[i].strip() == "<!-- /browser -->"
            )
            text = " ".join(lines[index + 1 : end])
            steps.append(BrowserVisit(visit[1], _BOLD.findall(text), index + 1))
            index = end
        index += 1
    return steps


def _commands(block: list[str], first_line: int, long_running: bool, retry: bool) -> list[Command]:
    commands: list[Command] = []
    for number, raw in enumerate(block, start=first_line):
        if raw.startswith("$ "):
            commands.append(Command(raw[2:], [], long_running, retry, number))
        elif raw.startswith("> ") and commands and not commands[-1].expected:
            commands[-1].text += "\n" + raw[2:]
        elif commands:
            commands[-1].expected.append(raw)
        else:
            raise ValueError(f"tutorial line {number}: output before any command")
    return commands


def normalise(line: str) -> str:
    """A line as it is compared: ends trimmed, one space for many, one rule character for many."""
    return _RULES.sub(r"\1", " ".join(line.split()))


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with every ``<name>`` replaced by its captured value."""

    def value(match: re.Match[str]) -> str:
        if match[1] not in values:
            raise KeyError(f"<{match[1]}> is used before any output showed it")
        return values[match[1]]

    return _PLACEHOLDER.sub(value, text)


def _pattern(expected: str, values: dict[str, str]) -> re.Pattern[str]:
    parts: list[str] = []
    new: set[str] = set()
    for piece in re.split(r"(<[a-z][a-z0-9-]*>|…)", normalise(expected)):
        named = _PLACEHOLDER.fullmatch(piece)
        if piece == "…":
            parts.append(".*?")
        elif named and named[1] in values:
            parts.append(re.escape(values[named[1]]))
        elif named and named[1] in new:
            parts.append(f"(?P={named[1].replace('-', '_')})")
        elif named:
            new.add(named[1])
            parts.append(f"(?P<{named[1].replace('-', '_')}>[^\\s\"']+?)")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts))


def match_output(expected: list[str], output: str, values: dict[str, str]) -> dict[str, str] | None:
    """The values captured if ``output`` shows the ``expected`` lines, else None."""
    wanted = [line for line in expected if line.strip()]
    actual = [normalise(line) for line in output.splitlines() if line.strip()]

    def walk(w: int, a: int, known: dict[str, str]) -> dict[str, str] | None:
        if w == len(wanted):
            return known if a == len(actual) else None
        if wanted[w].strip() == ANY_LINES:
            for skip in range(a, len(actual) + 1):
                found = walk(w + 1, skip, known)
                if found is not None:
                    return found
            return None
        if a == len(actual):
            return None
        hit = _pattern(wanted[w], known).fullmatch(actual[a])
        if hit is None:
            return None
        names = {name.replace("_", "-"): value for name, value in hit.groupdict().items()}
        return walk(w + 1, a + 1, {**known, **names})

    found = walk(0, 0, dict(values))
    return None if found is None else {k: v for k, v in found.items() if k not in values}


@dataclass
class Form:
    """A form of a page: where it posts, its fields, its radio buttons and its buttons."""

    action: str | None
    fields: dict[str, str] = field(default_factory=dict)
    radios: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (name, value)
    buttons: list[str] = field(default_factory=list)


class Page(HTMLParser):
    """The forms and the text of an HTML page, as a person sees and uses them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._text: list[str] = []
        self._label: list[str] | None = None
        self._label_radio: tuple[str, str] | None = None
        self._button: list[str] | None = None
        self._textarea: str | None = None
        self._skip = 0
        self.feed(html)
        self.text = normalise(" ".join(self._text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("style", "script", "title"):
            self._skip += 1
        elif tag == "form":
            self.forms.append(Form(a.get("action")))
        elif tag == "label":
            self._label, self._label_radio = [], None
        elif tag == "input" and self.forms:
            if a.get("type") == "radio":
                self._label_radio = (a["name"], a["value"])
            elif "name" in a:
                self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
        elif tag == "button":
            self._button = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self._skip -= 1
        elif tag == "label" and self._label is not None:
            if self._label_radio and self.forms:
                self.forms[-1].radios[normalise(" ".join(self._label))] = self._label_radio
            self._label = None
        elif tag == "textarea" and self._textarea and self.forms:
            self.forms[-1].fields.setdefault(self._textarea, "")
            self._textarea = None
        elif tag == "button" and self._button is not None and self.forms:
            self.forms[-1].buttons.append(normalise(" ".join(self._button)))
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self._text.append(data)
        for collecting in (self._label, self._button):
            if collecting is not None:
                collecting.append(data)
