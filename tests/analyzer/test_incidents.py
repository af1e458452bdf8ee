"""Incidents: findings grouped under the root that explains them, by the links rules declare.

Every declared link is exercised twice from the rule modules' own declarations: a consequence in
the link's scope hangs under the root; the same consequence outside it (another node, ztunnel or
identity) stays an incident of its own.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import rules
from analyzer import analyze_bundle
from analyzer.bundle import open_bundle
from analyzer.findings import Explains, Finding, Scope
from analyzer.incidents import Topology, finding_id, group
from analyzer.model import ObjectRef
from rules import Severity

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
KINDS = {
    "ZT101": "Pod",
    "ZT102": "Workload",
    "ZT103": "Node",
    "ZT201": "ServiceAccount",
    "ZT202": "ServiceAccount",
    "ZT301": "Pod",
    "ZT302": "Pod",
    "ZT303": "Pod",
    "ZT601": "Pod",
    "ZT304": "Node",
    "ZT305": "Pod",
    "ZT604": "Pod",
    "ZT605": "Pod",
    "ZT504": "Gateway",
    "ZT702": "Gateway",
    "ZT704": "Pod",
    "ZT707": "Deployment",
}
TOPO = Topology(
    ztunnel_nodes={"zt-a": "node-a", "zt-b": "node-b"},
    ambient_pods={"node-a": frozenset({"app/p1", "app/p2"}), "node-b": frozenset({"app/p3"})},
)


def _finding(code: str, *, node: str | None, ztunnel: str | None, name: str = "x") -> Finding:
    rule = rules.by_code(code)
    kind = KINDS.get(code, "Ztunnel")
    subject = ObjectRef(kind, "" if kind == "Node" else "app", node or name if kind == "Node" else name)
    if kind == "Ztunnel":
        subject = ObjectRef("Ztunnel", "istio-system", ztunnel or name)
    return Finding(code, rule.name, rule.severity, subject, f"{code} on {node}/{ztunnel}", (), node, ztunnel)


def _root(code: str) -> Finding:
    return _finding(code, node="node-a", ztunnel=None if code == "ZT103" else "zt-a", name="node-a")


def _links() -> list[tuple[str, Scope, str]]:
    return [
        (r.code, link.scope, code)
        for r in rules.all_rules()
        for link in r.explains
        for code in sorted(link.codes)
    ]


def _ids(links: list[tuple[str, Scope, str]]) -> list[str]:
    return [f"{root}-explains-{code}-{scope.value}" for root, scope, code in links]


@pytest.mark.parametrize(("root", "scope", "code"), _links(), ids=_ids(_links()))
def test_declared_link_groups_a_consequence_in_scope(root: str, scope: Scope, code: str) -> None:
    cause = _root(root)
    same = _finding(code, node="node-a", ztunnel="zt-a", name="y")
    if scope is Scope.SUBJECT:  # about the very object the root is about
        same = dataclasses.replace(same, subject=cause.subject)
    g = group(sorted([cause, same], key=lambda f: f.sort_key), rules.all_rules(), TOPO)
    by_code = {f.code: f for f in g.findings}
    assert len(g.incidents) == 1, f"{code} should follow from {root} in the same {scope.value}"
    assert by_code[code].caused_by == by_code[root].id
    assert g.incidents[0].root.code == root


@pytest.mark.parametrize(("root", "scope", "code"), _links(), ids=_ids(_links()))
def test_declared_link_leaves_a_consequence_elsewhere_alone(root: str, scope: Scope, code: str) -> None:
    if scope is Scope.MESH:
        pytest.skip("a mesh-wide link has no outside")
    cause = _root(root)
    other = _finding(code, node="node-b", ztunnel="zt-b", name="y")
    g = group(sorted([cause, other], key=lambda f: f.sort_key), rules.all_rules(), TOPO)
    assert len(g.incidents) == 2, f"{code} on another node must stay its own incident"
    assert all(f.caused_by is None for f in g.findings)


def test_transitive_links_reach_the_deepest_root() -> None:
    # ZT405 (lost xDS) explains ZT502 (not ready), which explains ZT101 (workload missing) on its node.
    found = [
        _finding("ZT101", node="node-a", ztunnel="zt-a", name="p1"),
        _finding("ZT405", node="node-a", ztunnel="zt-a"),
        _finding("ZT502", node="node-a", ztunnel="zt-a"),
    ]
    g = group(sorted(found, key=lambda f: f.sort_key), rules.all_rules(), TOPO)
    assert len(g.incidents) == 1
    inc = g.incidents[0]
    assert inc.root.code == "ZT405" and {f.code for f in inc.explains} == {"ZT101", "ZT502"}
    assert inc.headline.endswith("2 finding(s) follow from it")


def test_priority_picks_the_root_and_lists_the_other_candidate() -> None:
    drift = _finding("ZT401", node="node-a", ztunnel="zt-a")
    crash = _finding("ZT501", node="node-a", ztunnel="zt-a")
    nack = _finding("ZT404", node=None, ztunnel="zt-a")
    g = group(sorted([drift, crash, nack], key=lambda f: f.sort_key), rules.all_rules(), TOPO)
    by_code = {f.code: f for f in g.findings}
    assert by_code["ZT401"].caused_by == by_code["ZT501"].id
    assert by_code["ZT401"].also_caused_by == (by_code["ZT404"].id,)


def test_links_never_form_a_cycle() -> None:
    a = rules.Rule(
        "ZT801",
        "loop-a",
        Severity.ERROR,
        rules.by_code("ZT101").needs,
        "A.\n\nEvidence:\n e\n\nFix:\n f\n",
        explains=(Explains.of(Scope.MESH, "ZT802"),),
    )
    b = rules.Rule(
        "ZT802", "loop-b", Severity.ERROR, a.needs, a.doc, explains=(Explains.of(Scope.MESH, "ZT801"),)
    )
    f1 = Finding("ZT801", "loop-a", Severity.ERROR, ObjectRef("Node", "", "n"), "a")
    f2 = Finding("ZT802", "loop-b", Severity.ERROR, ObjectRef("Node", "", "m"), "b")
    g = group([f1, f2], [a, b])
    assert len(g.incidents) == 1 and len(g.incidents[0].findings) == 2


def test_ids_are_stable_and_unique() -> None:
    f = _finding("ZT101", node="node-a", ztunnel="zt-a", name="p1")
    assert finding_id(f) == finding_id(_finding("ZT101", node="node-a", ztunnel="zt-a", name="p1"))
    g = group([f, f], rules.all_rules(), TOPO)
    assert len({x.id for x in g.findings}) == 2


def test_blast_radius_counts_every_pod_on_the_node_only_for_an_outage() -> None:
    down = group([_finding("ZT501", node="node-a", ztunnel="zt-a")], rules.all_rules(), TOPO)
    assert down.incidents[0].blast_radius.pods == 2 and down.incidents[0].blast_radius.nodes == 1
    stale = group([_finding("ZT405", node="node-a", ztunnel="zt-a")], rules.all_rules(), TOPO)
    assert stale.incidents[0].blast_radius.pods == 0  # stale config: only the pods findings name


def test_a_ztunnel_that_is_down_outranks_one_on_stale_config_on_a_bigger_node() -> None:
    topo = Topology(
        ztunnel_nodes={"zt-a": "node-a", "zt-b": "node-b"},
        ambient_pods={"node-a": frozenset({"app/p1"}), "node-b": frozenset({"app/p2", "app/p3", "app/p4"})},
    )
    found = [
        _finding("ZT405", node="node-b", ztunnel="zt-b"),
        _finding("ZT501", node="node-a", ztunnel="zt-a"),
    ]
    g = group(sorted(found, key=lambda f: f.sort_key), rules.all_rules(), topo)
    assert [i.root.code for i in g.incidents] == ["ZT501", "ZT405"]


def test_broken_sample_leads_with_the_crash_looping_ztunnel_and_accounts_for_every_finding() -> None:
    result = analyze_bundle(open_bundle(SAMPLES / "broken.tar.gz"), rules=rules.all_rules())
    # a mesh-wide root (ZT707, istiod trusting no running ztunnel) may rank above it
    first = next(inc for inc in result.incidents if inc.root.code != "ZT707")
    assert first.root.code == "ZT501" and "ztunnel-kfwpp" in first.headline
    assert {"ZT101", "ZT302", "ZT401"} <= {f.code for f in first.explains}
    members = [f.id for inc in result.incidents for f in inc.findings]
    assert sorted(members) == sorted(f.id for f in result.findings)  # each in exactly one incident
    assert first.next_steps and first.next_steps[0].startswith("ztbundle logs ")


def test_every_next_step_of_the_broken_sample_is_a_command_that_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shlex

    monkeypatch.chdir(tmp_path)  # a step may write files (`extract BUNDLE out/`)
    from ztbundle.cli import main
    from ztbundle.exits import Exit

    result = analyze_bundle(open_bundle(SAMPLES / "broken.tar.gz"), rules.all_rules())
    steps = {step for inc in result.incidents for step in inc.next_steps}
    assert len(steps) >= 5
    for step in sorted(steps):
        argv = shlex.split(step)
        assert argv[0] == "ztbundle"
        rc = main(argv[1:])
        err = capsys.readouterr().err
        assert rc in (Exit.OK, Exit.FINDINGS), f"{step}: exit {rc}: {err}"  # diff(1)-style 1 is fine
