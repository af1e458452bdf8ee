"""`--pseudonymize` by structure: names replaced where they are names, certificates re-issued.

A namespace named `app`, `logs` or `config` must leave the `app` label key, the `logs/` folder and the
`config` key alone; service, workload and service-account names are mapped too; the real namespace
must not survive inside a certificate's SPIFFE SAN; the kubeconfig context and path leave the manifest.
Either way the pseudonymized bundle analyzes to the same findings as the plain one.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from collector.pseudonymize import CERTIFICATES_NOTE, mapping_path, rewrite, write_raw
from tests.collector.bundle_io import Run, collect, read_bundle
from tests.fakecluster import FakeCluster, scenarios
from tests.fakecluster.scenario import Namespace, Scenario, Service, add_pod, app_pod
from tests.fakecluster.scenarios import AMBIENT_NS
from tests.security.test_pseudonymize import _same_findings
from ztbundle import layout

PLAIN_WORDS = ("app", "logs", "config")


def _with_plain_word_namespaces(scn: Scenario) -> Scenario:
    """Ambient namespaces named like the bundle's own keys and folders, each with a served workload."""
    scn = replace(scn, namespaces=scn.namespaces + tuple(Namespace(n, AMBIENT_NS) for n in PLAIN_WORDS))
    node = scn.nodes[0].name
    for ns, workload in zip(PLAIN_WORDS, ("web", "shipper", "store"), strict=True):
        scn = add_pod(scn, app_pod(ns, workload, node=node, service_account=f"{workload}-sa"))
        scn = replace(scn, services=scn.services + (Service(ns, workload, selector={"app": workload}),))
    return scn


@pytest.fixture(scope="module", params=["broken", "plain-word-namespaces"])
def bundles(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Run, Path]]:
    scn = (
        scenarios.broken() if request.param == "broken" else _with_plain_word_namespaces(scenarios.bookinfo())
    )
    tmp = tmp_path_factory.mktemp(request.param)
    with FakeCluster(scn) as cluster:
        plain = collect(cluster, tmp)
    out = tmp / "pseudo.tar.gz"
    rewrite(plain.out, out, write_raw)
    yield plain, out


def _read(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    manifest, members, _ = read_bundle(path)
    return manifest, members


def test_the_pseudonymized_bundle_analyzes_to_the_same_findings(
    bundles: tuple[Run, Path], tmp_path: Path
) -> None:
    plain, pseudo = bundles
    _same_findings(plain.out, pseudo, json.loads(mapping_path(pseudo).read_text()), tmp_path)


def test_keys_label_keys_and_folders_are_never_rewritten(bundles: tuple[Run, Path]) -> None:
    plain, pseudo = bundles
    _, members = _read(pseudo)
    names = json.loads(mapping_path(pseudo).read_text())["names"]
    assert not set(PLAIN_WORDS) & set(names.values()) or "app" in names.values()  # learnt when present
    label_keys = [sorted(p["metadata"].get("labels", {})) for p in json.loads(members[layout.PODS])["items"]]
    plain_pods = json.loads(plain.members[layout.PODS])["items"]
    assert label_keys == [sorted(p["metadata"].get("labels", {})) for p in plain_pods]
    dumps = [m for m in members if layout.parse_ztunnel_config_dump(m)]
    assert dumps and all("config" in json.loads(members[m]) for m in dumps)
    logs = [m for m in members if "/logs/" in m]
    assert len(logs) == len([m for m in plain.members if "/logs/" in m]) > 0
    # The manifest is restructured on purpose (format 1: no `storage` or `pieces`); every other member
    # keeps all its keys.
    plain_keys = {
        m: _keys(_json(d)) for m, d in plain.members.items() if m.endswith(".json") and m != layout.MANIFEST
    }
    tokens = {real: token for token, real in names.items()}
    for member, keys in plain_keys.items():
        new = _keys(_json(members[_path(member, tokens)]))
        schema_keys = {k for k in keys if not re.search(r"[/.:]", k)} - set(tokens)
        assert schema_keys <= new, (member, sorted(schema_keys - new)[:5])


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:  # a truncated dump (the broken scenario has one): no keys to compare
        return None


def _path(member: str, tokens: dict[str, str]) -> str:
    """Where a plain member is in the pseudonymized bundle: name segments and proxy file stems mapped."""
    *folders, file = member.split("/")
    if folders and folders[-1] == "proxy":
        stem, dot, rest = file.partition(".")
        file = tokens.get(stem, stem) + dot + rest
    return "/".join([*folders[:1], *(tokens.get(p, p) for p in folders[1:]), file])


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


def test_service_workload_and_service_account_names_are_mapped(bundles: tuple[Run, Path]) -> None:
    plain, pseudo = bundles
    _, members = _read(pseudo)
    real_pods = json.loads(plain.members[layout.PODS])["items"]
    real = {p["spec"].get("serviceAccountName") for p in real_pods}
    real |= {p["metadata"].get("labels", {}).get("app") for p in real_pods}
    real |= {s["metadata"]["name"] for s in json.loads(plain.members[layout.SERVICES])["items"]}
    real -= {None, "default", "kubernetes", "kube-dns", "ztunnel", "istiod", "istio-cni", "istio-cni-node"}
    real -= {"coredns", "waypoint"}
    pods = json.loads(members[layout.PODS])["items"]
    assert not real & {p["spec"].get("serviceAccountName") for p in pods}
    assert not real & {p["metadata"].get("labels", {}).get("app") for p in pods}
    services = json.loads(members[layout.SERVICES])["items"]
    assert not real & {s["metadata"]["name"] for s in services}
    for member, data in members.items():
        if member.endswith(".json") or member.endswith(".txt"):
            text = data.decode()
            left = {n for n in real if re.search(rf"(?:/sa/|/ns/|\.){re.escape(n)}(?:\.svc|[\"/,]|$)", text)}
            assert not left, (member, sorted(left)[:5])


def _san_uris(members: dict[str, bytes]) -> Iterator[tuple[str, x509.Certificate]]:
    for member, data in members.items():
        if not layout.parse_ztunnel_config_dump(member):
            continue
        for entry in json.loads(data).get("certificates") or []:
            for cert in [*(entry.get("certChain") or []), *(entry.get("rootCerts") or [])]:
                pem = base64.b64decode(cert["pem"])
                yield member, x509.load_pem_x509_certificate(pem)


def test_certificates_are_reissued_with_pseudonymized_spiffe_ids(bundles: tuple[Run, Path]) -> None:
    plain, pseudo = bundles
    manifest, members = _read(pseudo)
    names = json.loads(mapping_path(pseudo).read_text())["names"]
    real_names = set(names.values()) - {"default", "istio-system"}
    seen = 0
    for _, cert in _san_uris(members):
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            continue
        for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
            seen += 1
            ns, sa = re.fullmatch(r"spiffe://[^/]+/ns/([^/]+)/sa/([^/]+)", uri).groups()  # type: ignore[union-attr]
            assert ns not in real_names and sa not in real_names, uri
    assert seen > 0
    assert manifest["options"]["pseudonymized_certificates"] == CERTIFICATES_NOTE


def _trust(members: dict[str, bytes], tokens: dict[str, str]) -> dict[str, Any]:
    """Per ztunnel: each entry's chain length, serials and dates; and the ztunnels it shares a root with."""
    facts: dict[str, list[object]] = {}
    roots: dict[str, set[bytes]] = {}
    for member, data in members.items():
        pod = layout.parse_ztunnel_config_dump(member)
        if not pod:
            continue
        pod = tokens.get(pod, pod)
        for entry in json.loads(data).get("certificates") or []:
            chain, trusted = entry.get("certChain") or [], entry.get("rootCerts") or []
            facts.setdefault(pod, []).append(len(chain))
            for c in [*chain, *trusted]:
                cert = x509.load_pem_x509_certificate(base64.b64decode(c["pem"]))
                facts[pod].append((cert.serial_number, cert.not_valid_before_utc, cert.not_valid_after_utc))
            roots.setdefault(pod, set()).update(base64.b64decode(r["pem"]) for r in trusted)
    shares = {pod: sorted(o for o in roots if roots[o] & roots[pod]) for pod in roots}
    return {"facts": facts, "shares": shares}


def test_chain_shape_dates_serials_and_trust_relations_are_kept(bundles: tuple[Run, Path]) -> None:
    plain, pseudo = bundles
    _, members = _read(pseudo)
    tokens = {real: token for token, real in json.loads(mapping_path(pseudo).read_text())["names"].items()}
    before, after = _trust(plain.members, tokens), _trust(members, {})
    assert before["facts"] and before == after


def test_the_manifest_drops_the_kubeconfig_context_and_path(bundles: tuple[Run, Path]) -> None:
    plain, pseudo = bundles
    manifest, _ = _read(pseudo)
    assert plain.manifest["context"] and manifest["context"] is None
    assert manifest["options"]["kubeconfig"] is None and manifest["options"]["context"] is None
    assert "--kubeconfig" not in manifest["command"] and "--context" not in manifest["command"]
    assert plain.manifest["options"]["kubeconfig"] not in json.dumps(manifest)
