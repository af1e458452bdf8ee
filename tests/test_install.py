"""Installable like any CLI: a built wheel, installed into a fresh venv, runs as `kubectl ztbundle`."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )
    assert done.returncode == 0, f"{argv}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_runs_as_the_kubectl_plugin(tmp_path: Path) -> None:
    # Build from a copy, so the build leaves nothing (build/, *.egg-info) in the worktree.
    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", "tests"),
    )
    dist = tmp_path / "dist"
    # Build isolation fetches setuptools from the package index (PyPI is reachable in CI).
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, src)
    wheel = next(dist.glob("ztbundle-*.whl"))

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    bin_dir = venv / "bin"
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        bin_dir / "python",
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        wheel,
    )

    # Then the dependencies, from this project's environment, offline (after: pip must not see its ztbundle).
    (purelib / "project-deps.pth").write_text("".join(f"{p}\n" for p in site.getsitepackages()))
    out = _run(bin_dir / "kubectl-ztbundle", "version", cwd=tmp_path).stdout
    assert out.startswith("kubectl ztbundle 0.") and "bundle format: writes " in out
    where = _run(
        bin_dir / "python",
        "-c",
        "import ztbundle, analyzer; print(ztbundle.__file__, analyzer.__file__)",
        cwd=tmp_path,
    )
    assert str(ROOT) not in where.stdout and str(venv) in where.stdout  # the wheel's copy, not the worktree
    completion = _run(bin_dir / "kubectl_complete-ztbundle", "ana", cwd=tmp_path).stdout
    assert completion == "analyze\n:4\n"  # what kubectl runs to complete `kubectl ztbundle ana`
    usage = _run(bin_dir / "kubectl-ztbundle", "analyze", "--help", cwd=tmp_path).stdout
    assert usage.startswith("usage: kubectl ztbundle analyze")
    # Package data (schemas, report templates) made it into the wheel.
    report = tmp_path / "r.html"
    done = subprocess.run(
        [
            str(bin_dir / "ztbundle"),
            "analyze",
            str(ROOT / "samples" / "broken.tar.gz"),
            "--out-file",
            str(report),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 1, done.stderr  # findings at error level
    assert report.read_text().startswith("<!doctype html>")


def test_krew_manifest_template_points_every_platform_at_a_release_archive() -> None:
    import yaml

    doc = yaml.safe_load((ROOT / "deploy" / "krew" / "ztbundle.yaml").read_text())
    assert doc["kind"] == "Plugin" and doc["metadata"]["name"] == "ztbundle"
    platforms = doc["spec"]["platforms"]
    assert {
        (p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"]) for p in platforms
    } >= {
        ("linux", "amd64"),
        ("darwin", "arm64"),
    }
    for p in platforms:
        assert p["bin"] == "kubectl-ztbundle"  # kubectl finds plugins by this name; the usage then says so
        assert p["uri"].startswith("https://") and "/releases/download/" in p["uri"] and p["sha256"]
