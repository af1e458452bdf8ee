"""Shared loading of the data-driven rule cases (tests/rules/cases/ZT###.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

CASES_DIR = Path(__file__).parent / "cases"


def load_cases() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(code, case name, case) for every case file, in a stable order."""
    for path in sorted(CASES_DIR.glob("ZT*.yaml")):
        doc = yaml.safe_load(path.read_text("utf-8"))
        assert doc["rule"] == path.stem, f"{path.name}: rule: must be {path.stem}"
        for name, case in doc["cases"].items():
            yield doc["rule"], name, case
