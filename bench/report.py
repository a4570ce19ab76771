"""The printed table."""

from __future__ import annotations

from dataclasses import dataclass

from bench._common import Figure, target_line


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table; ``target`` is a minimum ratio or a minimum rate, or none."""

    key: str
    figure: Figure
    baseline: tuple[str, Figure] | None = None
    min_ratio: float | None = None
    min_rate: float | None = None
    is_baseline: bool = False

    @property
    def ratio(self) -> float | None:
        """Median rate over the baseline's median rate, both from this run."""
        if self.baseline is None:
            return None
        return self.figure.median / self.baseline[1].median

    @property
    def met(self) -> bool | None:
        """Whether the target is met; ``None`` without a target."""
        if self.min_ratio is not None:
            ratio = self.ratio
            return ratio is not None and ratio >= self.min_ratio
        if self.min_rate is not None:
            return self.figure.median >= self.min_rate
        return None

    def cells(self) -> list[str]:
        """The cells: #, name, median, min, max, unit, ratio, target, met."""
        ratio = self.ratio
        if self.min_ratio is not None and self.baseline is not None:
            target = f"≥ {self.min_ratio:.2f} x #{self.baseline[0]}"
        elif self.min_rate is not None:
            target = f"≥ {self.min_rate:,.0f} {self.figure.unit}"
        else:
            target = "—"
        met = {True: "met", False: "NOT MET", None: "—"}[self.met]
        return [
            self.key,
            self.figure.name,
            f"{self.figure.median:,.0f}",
            f"{self.figure.low:,.0f}",
            f"{self.figure.high:,.0f}",
            self.figure.unit,
            self._ratio_cell(ratio),
            target,
            met,
        ]

    def _ratio_cell(self, ratio: float | None) -> str:
        if self.is_baseline:
            return "baseline"
        if ratio is None or self.baseline is None:
            return "—"
        return f"{ratio:.2f} x #{self.baseline[0]}"


HEADER = ["#", "name", "median", "min", "max", "unit", "ratio", "target", "met"]
_RIGHT = {2, 3, 4}


def table(rows: list[Row]) -> str:
    """A plain-text table, numbers right-aligned."""
    lines = [HEADER, *(r.cells() for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]

    def fmt(line: list[str]) -> str:
        return "  ".join(
            cell.rjust(w) if i in _RIGHT else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(lines[0]), rule, *(fmt(line) for line in lines[1:])])


def target_lines(rows: list[Row], names: dict[str, str]) -> list[str]:
    """One TARGET line per row with a target, named by ``names`` (row key → name)."""
    lines = []
    for row in rows:
        met = row.met
        if met is None:
            continue
        if row.min_ratio is not None and row.baseline is not None:
            value = f"{row.ratio:.2f}"
            goal = f">= {row.min_ratio:.2f}"
        else:
            value = f"{row.figure.median:,.0f} {row.figure.unit}"
            goal = f">= {row.min_rate:,.0f} {row.figure.unit}"
        lines.append(target_line(names.get(row.key, row.figure.name), value, goal, met))
    return lines
