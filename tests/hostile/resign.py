"""Edit a real bundle's members (or manifest) and write it back with sizes and digests that match.

The content attacks start from `samples/bookinfo.tar.gz`, which the real collector wrote, so every
command has data to show and the edited content is the only thing wrong with the bundle.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "bookinfo.tar.gz"


def members(sample: Path = SAMPLE) -> dict[str, bytes]:
    """Every member of `sample` by path, in archive order."""
    with tarfile.open(sample, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def ztunnels(files: Mapping[str, bytes]) -> list[str]:
    return sorted({n.split("/")[1] for n in files if n.startswith("ztunnel/")})


def write(
    files: Mapping[str, bytes], out: Path, edit_manifest: Callable[[dict[str, Any]], None] | None = None
) -> Path:
    """Write `files` as a bundle whose manifest vouches for them (then `edit_manifest` runs on it)."""
    doc = json.loads(files["manifest.json"])
    for a in doc["artifacts"]:
        if a["stored"] and a["path"] in files:
            a["bytes"] = len(files[a["path"]])
            a["sha256"] = hashlib.sha256(files[a["path"]]).hexdigest()
    if edit_manifest is not None:
        edit_manifest(doc)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in {**files, "manifest.json": json.dumps(doc).encode()}.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1767268800, 0o600
            tar.addfile(info, io.BytesIO(data))
    out.write_bytes(buf.getvalue())
    return out


def replace(
    files: Mapping[str, bytes], member: str, old: bytes, new: bytes, count: int = 1
) -> dict[str, bytes]:
    """`files` with the first `count` occurrences of `old` in `member` replaced (it must occur)."""
    if old not in files[member]:
        raise ValueError(f"{old!r} is not in {member}")
    return {**files, member: files[member].replace(old, new, count)}
