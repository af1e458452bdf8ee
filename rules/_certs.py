"""Helpers shared by the certificate rules (ZT201-ZT206); not a rule (the `_` prefix skips discovery)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from analyzer.model import Bundle, Certificate, CertInfo, CertState, ObjectRef, Ztunnel
from rules import Hit


def identity_ref(identity: str) -> ObjectRef:
    """`spiffe://td/ns/<ns>/sa/<sa>` → `ServiceAccount ns/sa` (else the raw identity)."""
    parts = identity.removeprefix("spiffe://").split("/")
    if len(parts) == 5 and parts[1] == "ns" and parts[3] == "sa":
        return ObjectRef("ServiceAccount", parts[2], parts[4])
    return ObjectRef("Identity", "", identity)


def span(delta: timedelta) -> str:
    """A duration as `3d4h` or `2h05m` (sign dropped: messages say before/after)."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    return f"{days}d{rest // 60}h" if days else f"{rest // 60}h{rest % 60:02d}m"


def ts(when: datetime) -> str:
    """An instant as RFC 3339 UTC to the second."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def now_name(bundle: Bundle) -> str:
    """How messages name the analysis time: the bundle's own, or the time `--now` gave."""
    return "the bundle time" if bundle.now_override is None else "the --now time"


def describe(info: CertInfo) -> str:
    """Name a certificate by its serial, or its fingerprint when the serial did not parse."""
    return f"serial {info.serial:x}" if info.serial is not None else f"fingerprint {info.fingerprint[:12]}"


def current_ztunnels(bundle: Bundle) -> Iterator[Ztunnel]:
    """Each node's current ztunnel (guard: current ztunnel) whose dump parsed."""
    for ztunnel in bundle.ztunnels:
        if bundle.ztunnel_on(ztunnel.node) is ztunnel and ztunnel.available:
            yield ztunnel


def available(ztunnel: Ztunnel) -> Iterator[Certificate]:
    """The ztunnel's `Available` entries; other states have empty chains (ZT202 judges them)."""
    return (cert for cert in ztunnel.certificates if cert.state is CertState.AVAILABLE)


@dataclass(frozen=True, slots=True)
class CaUse:
    """One intermediate or root certificate and the identities whose chain carries it."""

    role: str  # "intermediate" | "root"
    info: CertInfo
    identities: list[str] = field(default_factory=list)

    @property
    def chains(self) -> str:
        """`in the chain of 2 identities, e.g. spiffe://…`."""
        n = len(self.identities)
        return f"in the chain of {n} identit{'y' if n == 1 else 'ies'}, e.g. {self.identities[0]}"


def _ca_hits(
    ztunnel: Ztunnel, matches: Callable[[CertInfo], bool], what: Callable[[CaUse], str]
) -> Iterator[Hit]:
    """One hit per intermediate or root (by fingerprint) of Available entries that `matches`.

    The message is `<ztunnel> holds <what(use)>`.
    """
    found: dict[str, CaUse] = {}
    for cert in available(ztunnel):
        parts = [("intermediate", i) for i in cert.chain[1:]] + [("root", r) for r in cert.roots]
        for role, info in parts:
            if matches(info):
                found.setdefault(info.fingerprint, CaUse(role, info)).identities.append(cert.identity)
    for use in found.values():
        yield Hit.on(ztunnel, f"{ztunnel.ref} holds {what(use)}")


def chain_hits(
    bundle: Bundle,
    leaf_text: Callable[[Ztunnel, Certificate], str | None],
    ca_matches: Callable[[CertInfo], bool],
    ca_text: Callable[[CaUse], str],
) -> Iterator[Hit]:
    """Judge every current ztunnel's Available chains: leaves one by one, CA certificates once each.

    `leaf_text` returns the message for a bad leaf (subject: its ServiceAccount) or None;
    `ca_matches`/`ca_text` select and describe bad intermediates and roots (see `_ca_hits`).
    """
    for ztunnel in current_ztunnels(bundle):
        for cert in available(ztunnel):
            text = leaf_text(ztunnel, cert)
            if text is not None:
                yield Hit.on(ztunnel, text, subject=identity_ref(cert.identity))
        yield from _ca_hits(ztunnel, ca_matches, ca_text)
