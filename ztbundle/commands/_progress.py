"""`collect`'s progress displays: a bar on a terminal, a line every few seconds elsewhere.

Both count with `layout.Tally`, the same count `collect`'s summary and `analyze` print.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, TextIO

from analyzer.text import printable_line

if TYPE_CHECKING:
    from collector.runner import ProgressEvent


def inert(text: object, *, markup: bool = False) -> str:
    """Cluster-derived text (paths, istiod error bodies) made safe for one line of terminal output.

    Control and bidi characters become visible escapes; for rich, `[` is escaped too, so a body
    holding `[link=…]` prints as text instead of becoming a live hyperlink.
    """
    line = printable_line(str(text))
    if not markup:
        return line
    from rich.markup import escape

    return escape(line)


class Printable:
    """A text stream that shows control characters as escapes (for log handlers we do not format)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, text: str) -> int:
        from analyzer.text import printable

        return self.out.write(printable(text))

    def flush(self) -> None:
        self.out.flush()


class PlainProgress:
    """Non-TTY progress: one line per failure and a count every few seconds (counted as `layout.Tally`)."""

    def __init__(self, out: TextIO, every_s: float = 2.0) -> None:
        from ztbundle.layout import Tally

        self.out = out
        self.every_s = every_s
        self.last = 0.0
        self.tally = Tally()

    def __call__(self, event: ProgressEvent) -> None:
        a = event.last
        if a is not None:
            self.tally.add(a.item.path, a.item.input, a.status, a.error)
            if a.status.value != "ok":
                print(f"ztbundle: {inert(a.item.path)}: {a.status.value}: {inert(a.error)}", file=self.out)
        now = time.monotonic()
        if now - self.last >= self.every_s or event.done == event.total:
            self.last = now
            slow = f", slowest {inert(event.slowest)} {event.slowest_s:.0f}s" if event.slowest else ""
            t = self.tally
            expected = f", {len(t.expected)} expected non-answer(s)" if t.expected else ""
            print(
                f"ztbundle: {event.done}/{event.total} done: {t.collected} collected, "
                f"{len(t.missing)} missing{expected}{slow}",
                file=self.out,
            )


class RichProgress:
    """TTY progress bar: done/total, missing and expected non-answers so far, the slowest item running."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from ztbundle.layout import Tally

        self.tally = Tally()
        self.progress = Progress(
            TextColumn("collecting"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[missing]} missing"),
            TextColumn("[dim]{task.fields[expected]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[slowest]}"),
            console=Console(stderr=True),
            transient=True,
        )
        self.task: Any = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.last is not None:
            a = event.last
            self.tally.add(a.item.path, a.item.input, a.status, a.error)
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task(
                "collect", total=event.total, missing=0, expected="", slowest=""
            )
        slow = (
            f"slowest: {inert(event.slowest, markup=True)} ({event.slowest_s:.0f}s)"
            if event.slowest and event.slowest_s >= 1
            else ""
        )
        n_expected = len(self.tally.expected)
        self.progress.update(
            self.task,
            completed=event.done,
            missing=len(self.tally.missing),
            expected=f"{n_expected} expected" if n_expected else "",
            slowest=slow,
        )

    def stop(self) -> None:
        if self.task is not None:
            self.progress.stop()
