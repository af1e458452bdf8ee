"""ztunnels on different nodes trust disjoint sets of root certificates.

A peer's certificate only verifies against a root the receiver holds, so
cross-node HBONE between ztunnels without a common root fails the TLS
handshake (`invalid peer certificate: UnknownIssuer` / `BadSignature`) while
same-node traffic keeps working. Typical after a plug-in CA (`cacerts`) change
or root rotation that reached only some nodes.

Evidence:
    For each node's current ztunnel whose dump parsed, the set of root
    certificates (`rootCerts`, or the last `certChain` element in the ≤1.25
    layout) over all its `Available` certificate entries, compared by PEM
    fingerprint. A ztunnel is reported when its set shares no root with the
    set most ztunnels hold (or, with no majority, with some other ztunnel's
    set). Overlapping sets, as during a planned rotation where old and new
    roots are both present, are not reported; ztunnels with no Available
    certificate are not compared.

Fix:
    Make istiod serve one root, then restart the reported ztunnels.
    Offline: `ztbundle ztunnel-config BUNDLE certificates --ztunnel <pod>` on a
    reported node and on a healthy one. Live: `kubectl logs -n istio-system -l
    app=ztunnel | grep -i issuer` for the cross-node errors; check the `cacerts`
    secret in istio-system and the `istio-ca-root-cert` ConfigMaps.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, CertInfo, Input, Ztunnel
from rules import Hit, Rule, Severity
from rules._certs import available, current_ztunnels, describe

RULE = Rule(
    code="ZT206",
    name="root-of-trust-mismatch",
    severity=Severity.ERROR,
    needs=frozenset({Input.ZTUNNEL_CONFIG}),
    doc=__doc__,
    grid_columns=frozenset({"certificates"}),
    next_steps=("ztbundle ztunnel-config {bundle} certificates --ztunnel {ztunnel}",),
)


def _roots(ztunnel: Ztunnel) -> dict[str, CertInfo]:
    """Root fingerprint → root, over the ztunnel's Available entries."""
    return {root.fingerprint: root for cert in available(ztunnel) for root in cert.roots}


def _describe(roots: dict[str, CertInfo], fingerprints: frozenset[str]) -> str:
    out = []
    for fp in sorted(fingerprints):
        info = roots[fp]
        name = describe(info)
        out.append(f"{name} (expires {info.expires:%Y-%m-%d})" if info.expires else name)
    return ", ".join(out)


def check(bundle: Bundle) -> Iterator[Hit]:
    sets: dict[str, frozenset[str]] = {}
    known: dict[str, CertInfo] = {}
    current: list[Ztunnel] = []
    for ztunnel in current_ztunnels(bundle):
        roots = _roots(ztunnel)
        if roots:
            known.update(roots)
            sets[ztunnel.name] = frozenset(roots)
            current.append(ztunnel)
    groups: dict[frozenset[str], list[Ztunnel]] = {}
    for ztunnel in current:
        groups.setdefault(sets[ztunnel.name], []).append(ztunnel)
    if len(groups) < 2:
        return
    ranked = sorted(groups.items(), key=lambda g: (-len(g[1]), sorted(g[0])))
    majority = ranked[0][0] if len(ranked[0][1]) > len(ranked[1][1]) else None
    for ztunnel in current:
        mine = sets[ztunnel.name]
        if majority is not None:
            if mine & majority:
                continue
            others = groups[majority]
            against = f"{len(others)} of {len(current)} ztunnels (e.g. {others[0].name}) trust"
            theirs = majority
        else:
            strangers = [g for g in groups if g is not mine and not g & mine]
            if not strangers:
                continue
            theirs = strangers[0]
            against = f"{groups[theirs][0].name} (no root set is held by a majority) trusts"
        yield Hit.on(
            ztunnel,
            f"{ztunnel.ref} on node {ztunnel.node} trusts root(s) {_describe(known, mine)} but "
            f"{against} {_describe(known, theirs)}; they share no root, so HBONE between them "
            "fails certificate verification",
            evidence=(ztunnel.config_dump_path, groups[theirs][0].config_dump_path),
        )
