"""Fill the local cache of istioctl's ztunnel-config test data (Istio's files; never committed here).

    python -m tests.views.istio_testdata /path/to/istio.git     # a clone of github.com/istio/istio

writes `<cache>/<release>/<file>` for each release below (the cache is `$ZTBUNDLE_ISTIO_TESTDATA`, by
default `~/.cache/ztbundle/istio-testdata`). tests/views/test_ztunnel_config.py compares our tables
with istioctl's expected output for each release's dump and skips what the cache lacks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTDATA = "istioctl/pkg/writer/ztunnel/configdump/testdata"

# Each is the istioctl release whose test dump has that ztunnel shape: 1.18 (flattened store, snake_case
# certificates), 1.21 (legacy by_* stores), 1.22 (maps), 1.26 (lists, rootCerts), 1.30 (cidrVips,
# `all --with-headers`, workload filter by name), and master at the commit the references were read.
RELEASES: dict[str, str] = {
    "1.18.0": "1.18.0",
    "1.21.0": "1.21.0",
    "1.22.0": "1.22.0",
    "1.26.0": "1.26.0",
    "1.30.0": "1.30.0",
    "master-86c9f01": "86c9f01fd735fb01d8192f5bcaf0d424afb7f14c",
}


def cache_dir() -> Path:
    env = os.environ.get("ZTBUNDLE_ISTIO_TESTDATA")
    return Path(env) if env else Path.home() / ".cache" / "ztbundle" / "istio-testdata"


def fill(repo: Path, out: Path) -> list[Path]:
    """Export each release's testdata files from the git repository `repo` into `out/<release>/`."""
    written = []
    for release, ref in RELEASES.items():
        names = subprocess.run(
            ["git", "-C", str(repo), "ls-tree", "--name-only", f"{ref}:{TESTDATA}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        for name in names:
            data = subprocess.run(
                ["git", "-C", str(repo), "show", f"{ref}:{TESTDATA}/{name}"], check=True, capture_output=True
            ).stdout
            target = out / release / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written.append(target)
        date = subprocess.run(
            ["git", "-C", str(repo), "log", "-1", "--format=%cI", ref],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        (out / release / "COMMIT_DATE").write_text(date + "\n")
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for path in fill(Path(sys.argv[1]), cache_dir()):
        print(path)
