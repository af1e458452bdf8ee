"""The safe reader rejects every hostile or broken bundle with one BundleError naming the member."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from analyzer.bundle import open_bundle, parse_json
from analyzer.errors import BundleError
from analyzer.limits import DEFAULT, Limits
from tests.analyzer.tarhelp import T0, file_info, gzip_only, jbytes, manifest, tar_bytes, write_bundle

PODS = {"cluster/pods.json": jbytes({"kind": "PodList", "items": []})}


def _special(name: str, kind: bytes, **attrs: object) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    for k, v in attrs.items():
        setattr(info, k, v)
    return info, None


def _reject(path: Path, member: str | None, fragment: str, limits: Limits = DEFAULT) -> BundleError:
    with pytest.raises(BundleError) as caught:
        open_bundle(path, limits)
    err = caught.value
    assert err.member == member, str(err)
    assert fragment in err.problem, str(err)
    assert str(err).startswith(str(path)) and "\n" not in str(err)
    return err


def test_reads_a_valid_bundle_in_memory(tmp_path: Path) -> None:
    files = open_bundle(write_bundle(tmp_path / "b.tar.gz", PODS))
    assert files.json("cluster/pods.json") == {"kind": "PodList", "items": []}
    assert files.manifest["started_at"] == T0
    assert sorted(files.names()) == ["cluster/pods.json", "manifest.json"]
    assert list(tmp_path.iterdir()) == [tmp_path / "b.tar.gz"]  # nothing extracted


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"definitely not gzip", "not a gzip"),
        (gzip_only(b"gzip but not a tar archive" * 40), "not"),
        (b"", "not a gzip"),
    ],
)
def test_rejects_non_bundles(tmp_path: Path, data: bytes, fragment: str) -> None:
    path = tmp_path / "junk.tgz"
    path.write_bytes(data)
    _reject(path, None, fragment)


def test_rejects_truncated_archive(tmp_path: Path) -> None:
    good = write_bundle(tmp_path / "b.tar.gz", {"cluster/pods.json": b"x" * 50_000}).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(BundleError, match="truncated|not a gzip"):
        open_bundle(cut)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    _reject(tmp_path / "nope.tgz", None, "no such file")
    _reject(tmp_path, None, "directory")


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("/etc/passwd", "absolute"),
        ("../escape.json", "'..'"),
        ("cluster/../../escape.json", "'..'"),
        ("cluster//pods.json", "empty path segment"),
        ("./cluster/pods.json", "'.'"),
        ("C:/windows.json", "absolute"),
        ("cluster\\pods.json", "malformed"),
    ],
)
def test_rejects_unsafe_names(tmp_path: Path, name: str, fragment: str) -> None:
    path = write_bundle(tmp_path / "b.tar.gz", PODS, extra=[file_info(name, b"{}")])
    _reject(path, name, fragment)


@pytest.mark.parametrize(
    ("kind", "attrs", "fragment"),
    [
        (tarfile.SYMTYPE, {"linkname": "/etc/passwd"}, "symbolic link"),
        (tarfile.LNKTYPE, {"linkname": "cluster/pods.json"}, "hard link"),
        (tarfile.CHRTYPE, {"devmajor": 1, "devminor": 3}, "character device"),
        (tarfile.BLKTYPE, {"devmajor": 8, "devminor": 0}, "block device"),
        (tarfile.FIFOTYPE, {}, "FIFO"),
    ],
)
def test_rejects_links_devices_fifos(
    tmp_path: Path, kind: bytes, attrs: dict[str, object], fragment: str
) -> None:
    path = write_bundle(tmp_path / "b.tar.gz", PODS, extra=[_special("cluster/evil.json", kind, **attrs)])
    _reject(path, "cluster/evil.json", fragment)


def test_rejects_duplicate_members(tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "b.tar.gz", PODS, extra=[file_info("cluster/pods.json", b"{}")])
    _reject(path, "cluster/pods.json", "duplicate")


def test_rejects_oversized_member_total_and_ratio(tmp_path: Path) -> None:
    big = {"cluster/pods.json": b" " * 200_000}
    path = write_bundle(tmp_path / "b.tar.gz", big)
    _reject(path, "cluster/pods.json", "over the 1000-byte limit", Limits(max_member_bytes=1000))
    _reject(path, "cluster/pods.json", "expands beyond", Limits(max_total_bytes=100_000))
    err = _reject(
        path, "cluster/pods.json", "compression ratio", Limits(max_ratio=10, ratio_floor_bytes=1000)
    )
    assert "decompression bomb" in err.problem
    open_bundle(path)  # the default limits accept it: the ratio floor protects small bundles


def test_scaled_limits_raise_every_size() -> None:
    scaled = DEFAULT.scaled(4)
    assert scaled.max_member_bytes == 4 * DEFAULT.max_member_bytes
    assert scaled.max_total_bytes == 4 * DEFAULT.max_total_bytes
    assert scaled.max_json_depth == DEFAULT.max_json_depth
    with pytest.raises(ValueError):
        DEFAULT.scaled(0)


def test_rejects_too_many_members(tmp_path: Path) -> None:
    members = {f"ztunnel/z{i}/config_dump.json": b"{}" for i in range(5)}
    _reject(write_bundle(tmp_path / "b.tar.gz", members), None, "more than 3 members", Limits(max_members=3))


def test_rejects_missing_manifest(tmp_path: Path) -> None:
    path = tmp_path / "b.tar.gz"
    path.write_bytes(tar_bytes([file_info("cluster/pods.json", b"{}")]))
    _reject(path, "manifest.json", "missing")


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ({"format_version": 1}, "manifest schema"),
        (manifest(PODS, started_at="yesterday"), "started_at"),
        (manifest(PODS, format_version=99), "newer than this ztbundle"),
        ([], "manifest schema"),
    ],
)
def test_rejects_invalid_manifest(tmp_path: Path, doc: object, fragment: str) -> None:
    _reject(write_bundle(tmp_path / "b.tar.gz", PODS, manifest_doc=doc), "manifest.json", fragment)


def test_rejects_manifest_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "b.tar.gz"
    path.write_bytes(tar_bytes([file_info("manifest.json", b"{not json")]))
    _reject(path, "manifest.json", "invalid JSON at line 1")


def test_rejects_members_the_manifest_does_not_list(tmp_path: Path) -> None:
    doc = manifest(PODS)
    path = write_bundle(
        tmp_path / "b.tar.gz", PODS, extra=[file_info("cluster/extra.json", b"{}")], manifest_doc=doc
    )
    _reject(path, "cluster/extra.json", "not listed in manifest.json")


def test_member_json_errors_name_the_member(tmp_path: Path) -> None:
    members = {
        "cluster/pods.json": b'{"items": [1, 2',
        "cluster/nodes.json": b"\xff\xfe{}",
        "cluster/namespaces.json": b"[" * 100 + b"]" * 100,
    }
    files = open_bundle(write_bundle(tmp_path / "b.tar.gz", members))
    with pytest.raises(BundleError, match=r"b.tar.gz:cluster/pods.json: invalid JSON at line 1"):
        files.json("cluster/pods.json")
    with pytest.raises(BundleError, match=r"cluster/nodes.json: invalid UTF-8 at byte 0"):
        files.json("cluster/nodes.json")
    with pytest.raises(BundleError, match=r"cluster/namespaces.json: JSON nested deeper than 64"):
        files.json("cluster/namespaces.json")
    with pytest.raises(BundleError, match="not in the bundle"):
        files.read("cluster/services.json")


def test_depth_check_ignores_brackets_inside_strings() -> None:
    text = json.dumps({"s": "[" * 500 + '\\"{' * 100})
    assert parse_json("b", "m", text, max_depth=3)["s"].startswith("[[[")


def test_duplicate_json_keys_keep_the_last_value() -> None:
    assert parse_json("b", "m", '{"by_hostname": 1, "by_hostname": 2}') == {"by_hostname": 2}


def test_bundle_error_crosses_a_process_boundary_whole() -> None:
    """A reader error raised in a worker process arrives as itself, not as a pickling failure."""
    import pickle

    from analyzer.errors import BundleError, NotCollected

    for cls in (BundleError, NotCollected):
        member = "ztunnel/z/config_dump.json"
        back = pickle.loads(pickle.dumps(cls("b.tar.gz", member, "too big")))
        assert type(back) is cls
        assert (back.bundle, back.member, back.problem) == ("b.tar.gz", member, "too big")
        assert str(back) == "b.tar.gz:ztunnel/z/config_dump.json: too big"
