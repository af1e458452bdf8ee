"""ztunnel and istiod versions are outside the supported skew, or ztunnels run mixed minors.

ztunnel 1.x is supported with control plane 1.x and 1.x+1 only (upgrade istiod
first, stay within one minor); outside that window pushes can carry fields or
enums the ztunnel cannot parse (NACKs, ZT404). Mixed ztunnel minors long
after a rollout mean the rollout is stuck.

Evidence:
    The ztunnel's version (config_dump `version.istioVersion`) is compared
    with the version of the istiod it connects to (the replicas whose name
    matches the host of `config.xdsAddress`, else all replicas;
    istiod/<pod>/version.json): ztunnel newer than the control plane, or
    control plane more than one minor newer. Separately, ztunnels whose minor
    differs from the most common one are reported when no ztunnel pod is
    terminating or started in the last hour (no rollout in progress).
    Non-semver versions (custom builds) are ignored.

Fix:
    Upgrade in the supported order: istiod first, then istio-cni and ztunnel.
    Offline: `ztbundle ztunnel-config BUNDLE all --ztunnel <pod> -o json`
    shows each ztunnel's version. Live: `istioctl version` and `kubectl rollout
    status ds/ztunnel -n istio-system`. Move one minor at a time.
"""

import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

from analyzer.model import Bundle, Input, Istiod, Ztunnel
from rules import Hit, Rule, Severity

RULE = Rule(
    code="ZT503",
    name="version-skew",
    severity=Severity.WARNING,
    needs=frozenset({Input.PODS, Input.ZTUNNEL_CONFIG, Input.ISTIOD_VERSION}),
    doc=__doc__,
    grid_columns=frozenset({"ztunnel"}),
    next_steps=("ztbundle ztunnel-config {bundle} all --ztunnel {ztunnel} -o json",),
)

ROLLOUT_WINDOW = timedelta(hours=1)
_SEMVER = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")


def minor(version: str | None) -> tuple[int, int] | None:
    """(major, minor) of `1.26.0`, `1.26.0-distroless`; None for custom non-semver tags."""
    m = _SEMVER.match((version or "").strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def _fmt(mm: tuple[int, int]) -> str:
    return f"{mm[0]}.{mm[1]}"


def _control_plane(bundle: Bundle, ztunnel: Ztunnel) -> list[Istiod]:
    """The replicas of the revision this ztunnel dials (`xdsAddress` host), else every replica."""
    address = ztunnel.config.xds_address or ""
    host = re.sub(r"^[a-z]+://", "", address).split(":", 1)[0].split(".", 1)[0]
    mine = [i for i in bundle.istiods if host and (i.name == host or i.name.startswith(f"{host}-"))]
    return mine or list(bundle.istiods)


def _skew_facts(bundle: Bundle, ztunnel: Ztunnel, zt_minor: tuple[int, int]) -> tuple[list[str], list[str]]:
    facts, evidence = [], []
    for istiod in _control_plane(bundle, ztunnel):
        cp = minor(istiod.version)
        if cp is None:
            continue
        if zt_minor > cp:
            facts.append(f"is newer than control plane {istiod.name} ({istiod.version})")
        elif cp[0] == zt_minor[0] and cp[1] > zt_minor[1] + 1:
            facts.append(f"is more than one minor behind control plane {istiod.name} ({istiod.version})")
        else:
            continue
        evidence.append(istiod.version_path)
    return facts, evidence


def _rollout_in_progress(bundle: Bundle, ztunnels: list[Ztunnel]) -> bool:
    for z in ztunnels:
        pod = z.pod
        if pod is not None and (pod.deleting or not _older(bundle, pod.started_at or pod.created_at)):
            return True
    return False


def _older(bundle: Bundle, when: datetime | None) -> bool:
    return when is None or when <= bundle.now - ROLLOUT_WINDOW


def check(bundle: Bundle) -> Iterator[Hit]:
    ztunnels = [z for z in bundle.ztunnels if z.available]
    minors = {z.name: minor(z.version) for z in ztunnels}
    counts = Counter(m for m in minors.values() if m is not None)
    common = counts.most_common(1)[0][0] if counts else None
    mixed = len(counts) > 1 and not _rollout_in_progress(bundle, ztunnels)
    for z in ztunnels:
        zt_minor = minors[z.name]
        if zt_minor is None or z.deleting:
            continue
        facts, evidence = _skew_facts(bundle, z, zt_minor)
        if mixed and common is not None and zt_minor != common:
            facts.append(
                f"runs {_fmt(zt_minor)} while {counts[common]} of {len(ztunnels)} ztunnels run {_fmt(common)}"
            )
        if facts:
            yield Hit(
                subject=z.ref,
                message=f"{z.ref} ({z.version}) " + "; ".join(facts),
                evidence=(z.config_dump_path, *evidence),
                node=z.node,
                ztunnel=z.name,
            )
