"""Run every bundle command in-process on one bundle and collect exit code, stdout and stderr."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

from ztbundle.cli import main


@dataclass(frozen=True, slots=True)
class Run:
    argv: tuple[str, ...]
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"ztbundle {' '.join(self.argv)} -> {self.code}\n{self.err[-2000:]}"


def argvs(bundle: Path, ztunnel: str, work: Path, other: Path | None = None) -> list[list[str]]:
    """Every command that reads a bundle, with the options that change what it prints.

    `other`, when given, is the other side of `diff` (in both orders); else the bundle itself.
    """
    b, o = str(bundle), str(other or bundle)
    return [
        ["analyze", b, "-o", "text"],
        ["analyze", b, "-o", "text", "--out-file", str(work / "r.txt")],
        ["analyze", b, "-o", "json", "--out-file", str(work / "r.json")],
        ["analyze", b, "--out-file", str(work / "r.html")],
        ["ztunnel-config", b, "all"],
        ["ztunnel-config", "-o", "json", b, "all"],
        ["ztunnel-config", "-o", "yaml", b, "workloads"],
        ["ztunnel-config", "--ztunnel", ztunnel, b, "certificates"],
        ["traffic", b],
        ["metrics", b],
        ["xds", "--ztunnel", ztunnel, b],
        ["xds", "--ztunnel", ztunnel, "--diff", b],
        ["logs", b],
        ["logs", "--errors", "-o", "json", b],
        ["diff", o, b],
        ["diff", b, o],
        ["diff", "-o", "json", o, b],
        ["extract", b, str(work / "x")],
        *_traces(bundle),
    ]


def _traces(bundle: Path) -> list[list[str]]:
    """`trace` between the bundle's first two pods, both ways (names with escapes included)."""
    from analyzer.bundle import open_bundle
    from analyzer.errors import AnalyzerError
    from analyzer.load import load_bundle

    try:
        pods = [f"{p.namespace}/{p.name}" for p in load_bundle(open_bundle(bundle)).pods if p.ip][:2]
    except AnalyzerError:  # a bundle every command must refuse: the other commands show that
        return []
    if len(pods) < 2:
        return []
    return [
        ["trace", str(bundle), "--from", pods[0], "--to", pods[1]],
        ["trace", str(bundle), "--from", pods[1], "--to", pods[0], "-o", "json"],
    ]


def _stream() -> io.TextIOWrapper:
    """Like a real stdout: UTF-8, strict, with a byte buffer underneath (a surrogate cannot be printed)."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)


def run(argv: list[str]) -> Run:
    out, err = _stream(), _stream()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except Exception as exc:  # noqa: BLE001 - a crash is the failure being tested for
            import traceback

            code = -1
            err.write("".join(traceback.format_exception(exc)).encode("utf-8", "replace").decode())
    out.flush()
    err.flush()
    return Run(tuple(argv), code, *(s.buffer.getvalue().decode("utf-8", "replace") for s in (out, err)))


def run_all(bundle: Path, ztunnel: str, work: Path, other: Path | None = None) -> list[Run]:
    runs = []
    for i, argv in enumerate(argvs(bundle, ztunnel, work, other)):
        scratch = work / str(i)
        scratch.mkdir(parents=True, exist_ok=True)
        runs.append(run([a.replace(str(work), str(scratch), 1) for a in argv]))
    return runs
