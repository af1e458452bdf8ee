"""Acceptance: simulated cluster → real `ztbundle collect` → `ztbundle analyze` → the expected findings.

Also guards the committed samples: they must still analyze to the same findings (so a change that
breaks reading old bundles is caught), and `samples/make.py` must still reproduce them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from _pytest.capture import CaptureFixture

from analyzer.report.json import schema
from samples import make
from ztbundle.cli import main
from ztbundle.exits import Exit

SAMPLES_DIR = Path(make.__file__).resolve().parent

BROKEN = frozenset(
    {
        ("ZT101", "Pod default/productpage-v1-kq9dn4pqcr-95j9h"),  # node 1's ztunnel misses it
        ("ZT102", "Workload default/reviews-v1-7d9c8b5f4-gone1"),  # node 1 holds a deleted pod
        ("ZT103", "Node ambient-worker4"),  # neither ztunnel nor istio-cni there
        ("ZT201", "ServiceAccount default/bookinfo-notify"),  # HBONE on node 1 without a cert
        ("ZT202", "ServiceAccount default/bookinfo-productpage"),  # CA unreachable (node 1)
        ("ZT202", "ServiceAccount default/bookinfo-reviews"),  # still Initializing (node 2)
        ("ZT203", "ServiceAccount default/bookinfo-reviews"),  # expired 6 h ago (node 1)
        ("ZT204", "ServiceAccount default/bookinfo-details"),  # valid from +2 h (node 2)
        ("ZT205", "ServiceAccount default/curl"),  # 10 minutes left (node 2)
        ("ZT206", "Ztunnel istio-system/ztunnel-ppc6w"),  # rogue root (node 2)
        ("ZT301", "Pod default/notify-v1-4t8spwxz4n-rjg2c"),  # never annotated by istio-cni
        ("ZT302", "Pod default/productpage-v1-kq9dn4pqcr-95j9h"),  # in-pod proxy Pending
        ("ZT302", "Pod default/reviews-v2-z59kb9p247-vsqww"),  # no workloadState entry
        ("ZT303", "Pod default/lonely-v1-lvw96sq5jb-6gpbx"),  # pending on the node without ztunnel
        ("ZT304", "Node ambient-worker"),  # istio-cni retries productpage, no ztunnel connected (node 1)
        ("ZT305", "Pod default/productpage-v1-kq9dn4pqcr-95j9h"),  # istio-cni cannot open its netns
        ("ZT401", "Ztunnel istio-system/ztunnel-kfwpp"),  # missing/extra/changed workloads
        ("ZT402", "Ztunnel istio-system/ztunnel-ppc6w"),  # lacks the ratings service
        ("ZT403", "Ztunnel istio-system/ztunnel-kfwpp"),  # policy istiod no longer sends
        ("ZT404", "Ztunnel istio-system/ztunnel-kfwpp"),  # NACK
        ("ZT405", "Ztunnel istio-system/ztunnel-mzrp8"),  # no istiod replica knows it
        ("ZT406", "Ztunnel istio-system/ztunnel-kfwpp"),  # istiod logs the NACK as ACK ERROR
        ("ZT501", "Ztunnel istio-system/ztunnel-kfwpp"),  # CrashLoopBackOff, 7 restarts
        ("ZT502", "Ztunnel istio-system/ztunnel-mzrp8"),  # Running, not Ready
        ("ZT503", "Ztunnel istio-system/ztunnel-ppc6w"),  # 1.25.1 among 1.26
        ("ZT504", "Gateway default/reviews-waypoint"),  # used by Service reviews, never deployed
        ("ZT601", "Pod default/details-v1-4bkvmhmlsf-nvqz7"),  # two HBONE timeouts to it
        ("ZT602", "Ztunnel istio-system/ztunnel-kfwpp"),  # DNS proxy lookup failure
        ("ZT603", "Pod default/details-v1-4bkvmhmlsf-nvqz7"),  # authz denial (info)
        ("ZT604", "Pod default/reviews-v2-z59kb9p247-vsqww"),  # :15008 refused: no in-pod proxy (node 2)
        ("ZT605", "Pod default/productpage-v1-kq9dn4pqcr-95j9h"),  # node 1's ztunnel timed out on xDS
        ("ZT701", "AuthorizationPolicy default/ratings-get-only"),  # methods/paths, no waypoint
        ("ZT702", "Gateway default/reviews-waypoint"),  # the reviews label names no Gateway
        ("ZT703", "HTTPRoute default/ratings-canary"),  # ResolvedRefs False: backend not found
        ("ZT703", "Service default/reviews"),  # istio.io/WaypointBound False: its waypoint is missing
        ("ZT704", "Pod default/details-v1-4bkvmhmlsf-nvqz7"),  # NetworkPolicy allows 9080, not 15008
        ("ZT705", "Pod default/ratings-v1-55nl9wr89b-5whht"),  # NetworkPolicy admits no probe SNAT
        ("ZT706", "Namespace shop"),  # labelled ambient and istio-injection=enabled
        ("ZT707", "Deployment istio-system/istiod"),  # trusts kube-system/ztunnel only
        ("ZT708", "Ztunnel istio-system/ztunnel-mzrp8"),  # 243Mi of a 256Mi limit
    }
)


@dataclass(frozen=True, slots=True)
class Analysis:
    exit: int
    doc: dict[str, Any]

    @property
    def found(self) -> frozenset[tuple[str, str]]:
        return frozenset((f["code"], make.subject_text(f["subject"])) for f in self.doc["findings"])

    def diff(self, want: frozenset[tuple[str, str]]) -> dict[str, set[tuple[str, str]]]:
        return {"unexpected": set(self.found - want), "absent": set(want - self.found)}

    def at_least(self, *severities: str) -> list[dict[str, Any]]:
        return [f for f in self.doc["findings"] if f["severity"] in severities]


def analyze_json(bundle: Path, out: Path) -> Analysis:
    code = main(["analyze", str(bundle), "-o", "json", "--out-file", str(out)])
    return Analysis(code, json.loads(out.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[make.Made, Analysis]]:
    """Both samples made just now by `samples/make.py` (real collector over sockets) and analyzed."""
    out = tmp_path_factory.mktemp("fresh")
    runs = {}
    for name in make.SAMPLES:
        made = make.make(name, out)
        runs[name] = (made, analyze_json(made.path, out / f"{name}.json"))
    return runs


# --- fresh collect → analyze ----------------------------------------------------------------------


def test_broken_collect_analyze_finds_exactly_the_planted_faults(
    fresh: dict[str, tuple[make.Made, Analysis]],
) -> None:
    made, analysis = fresh["broken"]
    assert made.collect_exit == Exit.INCOMPLETE  # istiod has no per-proxy dump of the lost ztunnel
    assert analysis.exit == Exit.FINDINGS
    assert analysis.found == BROKEN, analysis.diff(BROKEN)
    assert {code for code, _ in analysis.found} >= make.REQUIRED
    assert analysis.doc["skipped"] == []


def test_bookinfo_collect_analyze_has_no_error_or_warning(
    fresh: dict[str, tuple[make.Made, Analysis]],
) -> None:
    made, analysis = fresh["bookinfo"]
    assert made.collect_exit == Exit.OK
    assert analysis.exit == Exit.OK
    assert analysis.at_least("error", "warning") == []
    assert analysis.doc["skipped"] == [] and analysis.doc["collection_errors"] == []


@pytest.mark.parametrize("name", sorted(make.SAMPLES))
def test_json_report_is_schema_valid(name: str, fresh: dict[str, tuple[make.Made, Analysis]]) -> None:
    doc = fresh[name][1].doc
    jsonschema.validate(doc, schema())
    severities = [f["severity"] for f in doc["findings"]]
    assert doc["summary"] == {sev: severities.count(sev) for sev in ("error", "warning", "info")}


def test_broken_html_report_is_written_next_to_the_bundle(
    fresh: dict[str, tuple[make.Made, Analysis]], capsys: CaptureFixture[str]
) -> None:
    bundle = fresh["broken"][0].path
    assert main(["analyze", str(bundle)]) == Exit.FINDINGS
    html = bundle.with_name(f"{bundle.name}.report.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?:", html)  # self-contained
    for code in sorted({code for code, _ in BROKEN}):
        assert f'id="{code}"' in html, code  # the rule-docs appendix anchor
        assert f'href="#{code}"' in html, code  # a finding links to it
    assert "ztunnel-mzrp8" in html and "lonely-v1-lvw96sq5jb-6gpbx" in html
    out = capsys.readouterr().out
    lines = out.splitlines()
    # the diagnosis first: the crash-looping ztunnel leaves its node without a data plane and
    # explains most findings
    assert lines[0].startswith("ERROR") and "ztunnel-kfwpp" in lines[0] and "CrashLoopBackOff" in out
    assert "from 40 finding(s): 25 error, 14 warning, 1 info" in out and "report: " in out


# --- the committed samples --------------------------------------------------------------------------


def test_committed_broken_sample_still_analyzes_to_the_planted_faults(tmp_path: Path) -> None:
    analysis = analyze_json(SAMPLES_DIR / "broken.tar.gz", tmp_path / "broken.json")
    assert analysis.exit == Exit.FINDINGS
    assert analysis.found == BROKEN, analysis.diff(BROKEN)


def test_committed_bookinfo_sample_is_clean(tmp_path: Path) -> None:
    analysis = analyze_json(SAMPLES_DIR / "bookinfo.tar.gz", tmp_path / "bookinfo.json")
    assert analysis.exit == Exit.OK
    assert analysis.at_least("error", "warning") == []


@pytest.mark.parametrize("name", sorted(make.SAMPLES))
def test_make_reproduces_the_committed_samples_findings(
    name: str, fresh: dict[str, tuple[make.Made, Analysis]], tmp_path: Path
) -> None:
    committed = analyze_json(SAMPLES_DIR / f"{name}.tar.gz", tmp_path / f"{name}.json")
    regenerated = fresh[name][1]
    assert regenerated.found == committed.found
    assert {f["severity"] for f in regenerated.doc["findings"]} == {
        f["severity"] for f in committed.doc["findings"]
    }
    # what could not be collected is part of a sample's story, too
    made_errors, committed_errors = (
        {(e["path"], e["status"]) for e in d.doc["collection_errors"]} for d in (regenerated, committed)
    )
    assert made_errors == committed_errors
