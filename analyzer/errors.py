"""Errors the analyzer raises; the CLI maps each to a one-line message and an exit code."""

from __future__ import annotations

from pathlib import Path


class AnalyzerError(Exception):
    """Base for analyzer errors that are the input's fault, never a bug."""


class BundleError(AnalyzerError):
    """A bundle that cannot be read safely; names the bundle and, when known, the member."""

    def __init__(self, bundle: Path | str, member: str | None, problem: str) -> None:
        self.bundle = str(bundle)
        self.member = member
        self.problem = problem
        super().__init__(f"{bundle}:{member}: {problem}" if member else f"{bundle}: {problem}")

    def __reduce__(self) -> tuple[type[BundleError], tuple[str, str | None, str]]:
        # Rebuilt from its three fields, not from the message: a worker process can raise one.
        return (BundleError, (self.bundle, self.member, self.problem))


class RuleError(AnalyzerError):
    """A rule module that is malformed; raised at import or discovery time, never while rules run.

    A user's `--rules-dir` module is input the user gave on the command line, so the CLI reports
    this as a usage error.
    """


class NotCollected(BundleError):
    """A sound bundle that lacks what was asked: the collector recorded why it is absent."""
