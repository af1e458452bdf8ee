"""Plain-text tables laid out exactly like Go's `text/tabwriter` (minwidth 0, padchar ' ', no flags).

istioctl prints its tables through tabwriter; reproducing its layout byte for byte lets users
diff our output against `istioctl ztunnel-config`. Every cell but the last of a line is padded to
its column's widest cell plus `padding`; the last cell is written as is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from analyzer.text import printable_line


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    padding: int = 1

    def render(self) -> str:
        """The table as tabwriter would flush it, one `\\n`-terminated line per row."""
        return tabwrite([self.headers, *self.rows], self.padding)

    def records(self) -> list[dict[str, str]]:
        """Rows as header → cell mappings (for `-o json`)."""
        return [dict(zip(self.headers, row, strict=True)) for row in self.rows]


def tabwrite(lines: Iterable[Sequence[str]], padding: int = 1) -> str:
    """Lay out cells like tabwriter: a column block is a run of lines that all have that column."""
    cells = [[printable_line(cell) for cell in line] for line in lines]
    widths: list[list[int]] = [[0] * max(len(c) - 1, 0) for c in cells]
    _widths(cells, widths, 0, 0, len(cells), padding)
    out = []
    for line, w in zip(cells, widths, strict=True):
        text = "".join(cell.ljust(w[i]) for i, cell in enumerate(line[:-1]))
        out.append(text + (line[-1] if line else ""))
    return "".join(f"{t}\n" for t in out)


def _widths(
    cells: list[list[str]], widths: list[list[int]], col: int, start: int, end: int, pad: int
) -> None:
    """Go's format(): consecutive lines having a cell in `col` share one width (recursively by column)."""
    i = start
    while i < end:
        if len(cells[i]) - 1 <= col:
            i += 1
            continue
        j = i
        while j < end and len(cells[j]) - 1 > col:
            j += 1
        width = max(len(cells[k][col]) + pad for k in range(i, j))
        for k in range(i, j):
            widths[k][col] = width
        _widths(cells, widths, col + 1, i, j, pad)
        i = j
