"""Issue 6 part 3: `collect --pseudonymize` replaces names and IPs consistently; findings survive."""

from __future__ import annotations

import ipaddress
import json
import re
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector.pseudonymize import mapping_path, rewrite, write_raw
from collector.pseudonyms import KEEP_NAMESPACES, Mapper
from tests.collector.bundle_io import Run, collect
from tests.fakecluster import FakeCluster, scenarios
from ztbundle import layout
from ztbundle.cli import main
from ztbundle.exits import Exit

IPV4 = re.compile(rb"(?<![0-9.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9]|\.\d)")


@pytest.fixture(scope="module")
def cluster() -> Iterator[FakeCluster]:
    with FakeCluster(scenarios.broken()) as c:
        yield c


@pytest.fixture(scope="module")
def pair(cluster: FakeCluster, tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Run, dict[str, Any]]:
    plain = collect(cluster, tmp_path_factory.mktemp("plain"))
    pseudo = collect(cluster, tmp_path_factory.mktemp("pseudo"), "--pseudonymize")
    mapping = json.loads(pseudo.out.with_name(pseudo.out.name + ".mapping.json").read_text())
    return plain, pseudo, mapping


def _findings(bundle: Path, tmp: Path) -> list[dict[str, Any]]:
    out = tmp / f"{bundle.name}.json"
    assert main(["analyze", str(bundle), "-o", "json", "--out-file", str(out)]) in (Exit.OK, Exit.FINDINGS)
    findings: list[dict[str, Any]] = json.loads(out.read_text())["findings"]
    return findings


def test_no_real_name_or_ip_is_left_in_any_member(pair: tuple[Run, Run, dict[str, Any]]) -> None:
    _, pseudo, mapping = pair
    assert pseudo.code in (Exit.OK, Exit.INCOMPLETE) and pseudo.manifest["options"]["pseudonymized"] is True
    scn = scenarios.broken()
    real = {p.name for p in scn.pods} | {n.name for n in scn.nodes}
    real |= {n.name for n in scn.namespaces if n.name not in KEEP_NAMESPACES}
    ips = {p.ip for p in scn.pods if p.ip}
    for member, data in pseudo.members.items():
        text = data.decode("utf-8", "replace")
        left = {n for n in real if re.search(rf"(?<![A-Za-z0-9_-]){re.escape(n)}(?![A-Za-z0-9_-])", text)}
        assert not left, (member, sorted(left)[:5])
        assert not [ip for ip in ips if re.search(rf"(?<![0-9.]){re.escape(ip)}(?![0-9])", text)], member
        for m in IPV4.finditer(data):
            ip = ipaddress.ip_address(m.group(0).decode())
            assert (
                ip in ipaddress.ip_network("198.18.0.0/15")
                or ip.is_loopback
                or ip.is_unspecified
                or (str(ip) == "255.255.255.255")
            ), (member, str(ip))
    assert set(mapping["names"].values()) >= {p.name for p in scn.pods}
    assert set(mapping["ips"].values()) >= ips


def test_the_mapping_lives_next_to_the_bundle_never_inside(pair: tuple[Run, Run, dict[str, Any]]) -> None:
    _, pseudo, mapping = pair
    side = pseudo.out.with_name(pseudo.out.name + ".mapping.json")
    assert stat.S_IMODE(side.stat().st_mode) == 0o600
    some_token, some_name = next(iter(mapping["names"].items()))
    for data in pseudo.members.values():
        assert b'"names"' not in data or some_name.encode() not in data
    with tarfile.open(pseudo.out) as tar:
        assert not [m.name for m in tar if "mapping" in m.name]


def test_same_input_same_token_across_members(pair: tuple[Run, Run, dict[str, Any]]) -> None:
    _, pseudo, mapping = pair
    tokens = {v: k for k, v in mapping["names"].items()}
    zt = next(p for p in scenarios.broken().pods if p.name.startswith("ztunnel-"))
    token = tokens[zt.name]
    assert layout.ztunnel_config_dump(token) in pseudo.members  # the member path
    pods = json.loads(pseudo.members[layout.PODS])
    assert token in {p["metadata"]["name"] for p in pods["items"]}  # the pod list
    assert any(token.encode() in d for m, d in pseudo.members.items() if m.startswith("istiod/"))  # proxy IDs


def _pseudonymized(plain: Path, tmp: Path) -> tuple[Path, dict[str, Any]]:
    """The same collected bundle pseudonymized, so both sides share every byte and every timestamp."""
    out = tmp / "pseudo.tar.gz"
    rewrite(plain, out, write_raw)
    return out, json.loads(mapping_path(out).read_text())


def _same_findings(plain: Path, pseudo: Path, mapping: dict[str, Any], tmp: Path) -> list[dict[str, Any]]:
    before, after = _findings(plain, tmp), _findings(pseudo, tmp)
    tokens = {v: k for k, v in mapping["names"].items()}

    def mapped(f: dict[str, Any]) -> tuple[str, str, str | None, str]:
        s = f["subject"]
        return (
            f["code"],
            s["kind"],
            tokens.get(s["namespace"], s["namespace"]),
            tokens.get(s["name"], s["name"]),
        )

    def plain_key(f: dict[str, Any]) -> tuple[str, str, str | None, str]:
        s = f["subject"]
        return f["code"], s["kind"], s["namespace"], s["name"]

    assert sorted(map(mapped, before)) == sorted(map(plain_key, after))
    return before


def test_analyzer_finds_the_same_problems_on_mapped_subjects(
    pair: tuple[Run, Run, dict[str, Any]], tmp_path: Path
) -> None:
    plain, _, _ = pair
    pseudo, mapping = _pseudonymized(plain.out, tmp_path)
    before = _same_findings(plain.out, pseudo, mapping, tmp_path)
    assert before, "the broken scenario must produce findings for this test to mean anything"


def test_mapper_units() -> None:
    m = Mapper(key=b"k" * 32)
    m.add_name("ns", "shop")
    m.add_name("pod", "cart-0")
    m.add_name("ns", "default")  # well-known: kept
    text = m.text(
        "uid Kubernetes//Pod/shop/cart-0 spiffe://cluster.local/ns/shop/sa/cart at 10.244.1.7:15008"
    )
    assert "shop" not in text and "cart-0" not in text and "10.244.1.7" not in text
    assert "/sa/cart " in text  # service accounts are not in the list: only names the issue lists
    assert m.text("cart-0.shop") == f"{m.names['cart-0']}.{m.names['shop']}"
    assert m.text("shopping cart-01") == "shopping cart-01"  # whole names only
    assert m.text("default") == "default" and m.text("127.0.0.1 0.0.0.0") == "127.0.0.1 0.0.0.0"
    assert m.text('"CvQBBw=="') == '"xhIAAQ=="'  # istiod's base64 bytes of 10.244.1.7 → 198.18.0.1
    assert m.text("fd00::1") == "2001:db8::2" and m.text("12:34:56") == "12:34:56"
    assert Mapper(key=b"k" * 32).names == {} and Mapper().text("cart-0") == "cart-0"


def test_only_the_pseudonymized_bundle_and_its_mapping_are_left(
    pair: tuple[Run, Run, dict[str, Any]],
) -> None:
    _, pseudo, _ = pair
    left = sorted(p.name for p in pseudo.out.parent.iterdir())
    assert left == ["bundle.tar.gz", "bundle.tar.gz.mapping.json"]  # no real-name staging archive


def test_a_failed_rewrite_leaves_no_real_name_archive(
    cluster: FakeCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import collector.pseudonymize

    def crash(*_: object) -> None:
        raise RuntimeError("rewrite failed")

    monkeypatch.setattr(collector.pseudonymize, "rewrite", crash)
    out = tmp_path / "bundle.tar.gz"
    with pytest.raises(RuntimeError):
        main(["collect", "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context,
              "--out-file", str(out), "--quiet", "--pseudonymize"])  # fmt: skip
    assert list(tmp_path.iterdir()) == []  # neither the real-name archive nor a partial survives
