"""The framing walk accepts what real tar writers produce and follows headers exactly as tarfile does."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from analyzer.bundle import open_bundle
from analyzer.errors import BundleError
from analyzer.limits import DEFAULT, Limits
from analyzer.tarscan import pax_records, scan
from tests.analyzer.tarhelp import manifest
from ztbundle import layout

LONG = layout.pod_log(layout.Component.WAYPOINT, "n" * 60, "w" * 60, "c" * 40, previous=True)  # > 100 chars


def _bundle(fmt: int, members: dict[str, bytes]) -> bytes:
    import json

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=fmt) as tar:
        for name, data in {**members, layout.MANIFEST: json.dumps(manifest(members)).encode()}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT], ids=["pax", "gnu"])
def test_long_names_from_real_writers_are_read(tmp_path: Path, fmt: int) -> None:
    assert len(LONG) > 100
    path = tmp_path / "b.tar.gz"
    path.write_bytes(_bundle(fmt, {LONG: b"log line\n"}))
    assert open_bundle(path).read(LONG) == b"log line\n"


def test_a_pax_size_is_followed_like_tarfile_follows_it(tmp_path: Path) -> None:
    """A PAX `size` overrides the header's: the walk must skip the same bytes tarfile skips."""
    info = tarfile.TarInfo("cluster/pods.json")
    info.size = 10
    info.pax_headers = {"size": "300000000"}  # over the member limit, though the header says 10
    raw = info.tobuf(tarfile.PAX_FORMAT) + b"x" * 512 + b"\0" * 1024
    with pytest.raises(BundleError, match="member is 300000000 bytes, over the 268435456-byte limit"):
        scan(tmp_path / "b", gzip.compress(raw), DEFAULT)


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (b"11 path=ab\n", None),
        (b"12 path=a=b\n", None),
        (b"11 path=abc\n", "malformed"),  # length says 11, the record is 12
        (b"011 path=a\n", "malformed"),  # leading zero
        (b"5 =a\n", "malformed"),  # empty keyword
        (b"99999999999999999999999 path=a\n", "malformed"),
        (b"12 pa\nth=ab\n", "malformed"),  # a newline inside the keyword
        (b"30 GNU.sparse.size=100000000\n", "malformed"),  # sparse files are refused
        (b"%d comment=%s\n" % (85, b"1" * 74), "CVE-2024-6232"),
    ],
)
def test_pax_records_are_parsed_exactly(record: bytes, problem: str | None, tmp_path: Path) -> None:
    if problem is None:
        assert pax_records(tmp_path, record)[b"path"] == record.split(b"=", 1)[1][:-1]
    else:
        with pytest.raises(BundleError, match=problem):
            pax_records(tmp_path, record)


def test_end_padding_to_a_record_boundary_is_fine_and_more_is_not(tmp_path: Path) -> None:
    good = _bundle(tarfile.PAX_FORMAT, {layout.PODS: b"{}"})
    raw = gzip.decompress(good)
    assert len(raw) % tarfile.RECORDSIZE == 0  # tarfile pads its end marker to 10 KiB
    scan(tmp_path / "b", good, DEFAULT)
    with pytest.raises(BundleError, match="data after the end of the tar archive"):
        scan(tmp_path / "b", gzip.compress(raw + b"\0" * (2 << 20)), DEFAULT)
    with pytest.raises(BundleError, match="data after the end of the gzip stream"):
        scan(tmp_path / "b", good + b"\0", DEFAULT)


def test_header_records_have_their_own_limit(tmp_path: Path) -> None:
    small = Limits(max_header_record_bytes=512)
    path = tmp_path / "b.tar.gz"
    path.write_bytes(_bundle(tarfile.GNU_FORMAT, {LONG: b"x"}))
    open_bundle(path, small)  # a 150-byte long name fits
    path.write_bytes(_bundle(tarfile.GNU_FORMAT, {"cluster/" + "a" * 600 + ".json": b"x"}))
    with pytest.raises(BundleError, match="tar header record of 614 bytes, over the 512-byte limit"):
        open_bundle(path, small)
