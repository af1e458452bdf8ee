"""`ztbundle extract`: validated first, then raw member bytes under DIR only, never through a link."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path

import pytest

from tests.analyzer.tarhelp import write_bundle
from tests.hostile import corpus
from ztbundle import layout
from ztbundle.cli import main
from ztbundle.commands.extract import ExtractError, write_members
from ztbundle.exits import Exit

ZT_A, ZT_B, ISTIOD = "ztunnel-a", "ztunnel-b", "istiod-1"
MEMBERS = {
    layout.PODS: b'{"kind": "PodList", "items": []}',
    layout.ztunnel_config_dump(ZT_A): b'{"workloads": {}}',
    layout.ztunnel_metrics(ZT_A): b"# metrics a\n",
    layout.pod_log(layout.Component.ZTUNNEL, "istio-system", ZT_A, "istio-proxy", previous=True): b"a\n",
    layout.ztunnel_config_dump(ZT_B): b'{"workloads": {"b": 1}}',
    layout.istiod_proxy_config(ISTIOD, ZT_A): b"{}",
    layout.istiod_proxy_policies(ISTIOD, ZT_A): b"{}",
    layout.istiod_proxy_config(ISTIOD, ZT_B): b'{"b": 1}',
    layout.istiod_syncz(ISTIOD): b"[]",
}


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return write_bundle(tmp_path / "b.tar.gz", MEMBERS)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_extracts_every_member_byte_for_byte_with_private_modes(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    os.umask(0o022)  # a permissive umask must not widen what we create
    assert main(["extract", str(bundle), str(out)]) == Exit.OK
    tree = _tree(out)
    manifest = json.loads(tree.pop(layout.MANIFEST))
    assert tree == MEMBERS
    for a in manifest["artifacts"]:
        assert hashlib.sha256(tree[a["path"]]).hexdigest() == a["sha256"]
    for p in out.rglob("*"):
        assert stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600), p
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert not [p for p in out.rglob(".*.tmp")]
    assert capsys.readouterr().out.startswith(f"extracted {len(MEMBERS) + 1} file(s)")


def test_ztunnel_option_extracts_only_that_ztunnels_files(bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["extract", str(bundle), "--ztunnel", ZT_A, str(out)]) == Exit.OK
    assert sorted(_tree(out)) == sorted(
        [
            layout.ztunnel_config_dump(ZT_A),
            layout.ztunnel_metrics(ZT_A),
            "ztunnel/ztunnel-a/logs/istio-proxy.previous.log",
            layout.istiod_proxy_config(ISTIOD, ZT_A),
            layout.istiod_proxy_policies(ISTIOD, ZT_A),
        ]
    )


def test_unknown_ztunnel_is_one_line_and_writes_nothing(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["extract", str(bundle), "--ztunnel", "ztunnel-zz", str(out)]) == Exit.USAGE  # a typo
    err = capsys.readouterr().err
    assert err.startswith(
        f"ztbundle: error: {bundle}: --ztunnel ztunnel-zz: no such ztunnel pod in the bundle"
    )
    assert err.count("\n") == 1 and ZT_A in err and ZT_B in err
    assert not out.exists()


def test_refuses_a_symlinked_directory_inside_dir(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "cluster").symlink_to(elsewhere)
    assert main(["extract", str(bundle), str(out)]) == Exit.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cluster" in err and ("symbolic link" in err or "outside" in err), err
    assert list(elsewhere.iterdir()) == []


def test_refuses_a_symlink_inside_dir_even_when_it_points_inside(bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "real").mkdir(parents=True)
    (out / "cluster").symlink_to(out / "real")
    with pytest.raises(ExtractError, match="refusing to follow a symbolic link"):
        write_members(out, [(layout.PODS, b"{}")])
    assert list((out / "real").iterdir()) == []


def test_refuses_a_symlink_at_the_file_name(tmp_path: Path) -> None:
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "cluster").mkdir(parents=True)
    (out / "cluster" / "pods.json").symlink_to(victim)
    with pytest.raises(ExtractError, match="refusing to follow a symbolic link|outside"):
        write_members(out, [(layout.PODS, b"{}")])
    assert victim.read_text() == "keep me"


def test_replaces_a_hard_link_instead_of_writing_through_it(tmp_path: Path) -> None:
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "cluster").mkdir(parents=True)
    os.link(victim, out / "cluster" / "pods.json")
    write_members(out, [(layout.PODS, b"new")])
    assert victim.read_text() == "keep me"
    assert (out / "cluster" / "pods.json").read_bytes() == b"new"


@pytest.mark.parametrize("member", ["../x", "/etc/x", "a//b", "a/./b", "a\\b", "", "a/.."])
def test_writer_refuses_unsafe_member_paths_itself(tmp_path: Path, member: str) -> None:
    with pytest.raises(ExtractError, match="unsafe member path"):
        write_members(tmp_path / "out", [(member, b"x")])
    assert not (tmp_path / "x").exists()


def test_writes_are_confined_when_dir_is_reached_through_a_symlink(tmp_path: Path) -> None:
    """The user's own DIR may be a link (resolved once); links below it are still refused."""
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    write_members(tmp_path / "link", [("a/b.json", b"1")])
    assert (real / "a" / "b.json").read_bytes() == b"1"


@pytest.mark.parametrize("attack", corpus.ATTACKS, ids=lambda a: a.name)
def test_extract_rejects_every_hostile_bundle_before_writing(
    attack: corpus.Attack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from analyzer import limits

    if attack.limits:
        monkeypatch.setattr(limits, "DEFAULT", attack.limits)
    path = tmp_path / f"{attack.name}.tar.gz"
    path.write_bytes(attack.build())
    out = tmp_path / "out"
    code = main(["extract", str(path), str(out)])
    err = capsys.readouterr().err
    if attack.content:  # a sound archive: the bytes are written as stored, for inspection
        assert code == Exit.OK and err == ""
        assert attack.member is not None and (out / attack.member).is_file()
        return
    assert code == Exit.BAD_INPUT, err
    assert err.count("\n") == 1 and re.fullmatch(attack.line(path), err.rstrip("\n")), err
    assert not out.exists()
