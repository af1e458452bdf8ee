"""A ztunnel rejected (NACKed) an xDS push and keeps the old version of those resources.

ztunnel refuses a whole push when one resource fails to parse (an unknown enum
from a newer istiod, an unsupported tunnel protocol, a bad address), so every
update in that push is lost on that node until a later push parses.

Evidence:
    istiod's /debug/syncz (any replica) shows a non-empty `lastError` for the
    ztunnel's Address or Authorization type, or `sent` differing from `acked`
    for a push sent longer ago than the capture window; or the ztunnel's
    current log has `sending response ... type=Nack error=...` lines from
    xds::client within the 30 minutes before capture (the count says how
    often; trimmed logs give a lower bound).

Fix:
    Keep istiod and ztunnel within one minor, or turn off the feature ztunnel rejects.
    Offline: `ztbundle xds BUNDLE --ztunnel <pod> --diff` and `ztbundle logs
    BUNDLE --ztunnel <pod> --errors`. Live: `kubectl logs -n istio-system -l
    app=istiod | grep "ACK ERROR"`. Unknown enums or fields mean istiod is newer
    than the ztunnel can parse (ZT503); `unsupported tunnel protocol` points at a
    feature flag (LEGACY_ISTIO_MTLS) that the ztunnel does not support.
"""

from collections.abc import Iterator

from analyzer.model import CAPTURE_SETTLE, Bundle, Component, Input, LogEvent, ObjectRef
from rules import Explains, Hit, Rule, Scope, Severity
from rules._logscan import find, latest, tally

RULE = Rule(
    code="ZT404",
    name="xds-nack",
    severity=Severity.ERROR,
    needs=frozenset({Input.ISTIOD_SYNCZ, Input.ZTUNNEL_LOGS}),
    doc=__doc__,
    grid_columns=frozenset({"xds"}),
    explains=(Explains.of(Scope.ZTUNNEL, "ZT401", "ZT402", "ZT403", "ZT406"),),
    priority=40,
    next_steps=("ztbundle xds {bundle} --ztunnel {ztunnel} --diff",),
)


def _is_nack(event: LogEvent) -> bool:
    return event.target.startswith("xds::client") and event.fields.get("type") == "Nack"


def _short(type_url: str) -> str:
    return type_url.rsplit(".", 1)[-1]  # `Address`, `Authorization`


def _syncz_facts(bundle: Bundle) -> dict[str, tuple[list[str], list[str]]]:
    """ztunnel pod → (facts, evidence) from every replica's syncz."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    stale_before = bundle.now - CAPTURE_SETTLE
    for istiod in bundle.istiods:
        for entry in istiod.syncz or ():
            if entry.proxy_type != "ztunnel":
                continue
            pod = entry.proxy.partition(".")[0]
            for r in entry.resources:
                fact = None
                if r.last_error:
                    fact = f"{istiod.name} syncz {_short(r.type_url)} lastError {r.last_error!r}"
                elif (
                    r.sent != r.acked and r.sent_time and r.sent_time.year > 1 and r.sent_time < stale_before
                ):
                    fact = (
                        f"{istiod.name} syncz {_short(r.type_url)} sent {r.sent} but acked {r.acked} "
                        f"(sent at {r.sent_time:%Y-%m-%dT%H:%M:%SZ})"
                    )
                if fact:
                    facts, evidence = out.setdefault(pod, ([], []))
                    facts.append(fact)
                    evidence.append(istiod.syncz_path)
    return out


def check(bundle: Bundle) -> Iterator[Hit]:
    found = _syncz_facts(bundle)
    current = [f for f in bundle.logs_of(Component.ZTUNNEL) if not f.previous]
    for log in current:
        nacks = list(find([log], ["Nack"], _is_nack))
        t = tally(nacks, bundle.now)
        if not t.live():
            continue  # old NACKs were superseded by later pushes (guard: live, not history)
        last_error = (latest(nacks) or nacks[-1]).field("error") or "no error text"
        facts, evidence = found.setdefault(log.pod, ([], []))
        facts.append(f"ztunnel logged a NACK {t.describe()}; last error {last_error!r}")
        evidence.extend(t.paths)
    for pod, (facts, evidence) in sorted(found.items()):
        ztunnel = bundle.ztunnel_named(pod)
        ref = ztunnel.ref if ztunnel else ObjectRef("Ztunnel", "istio-system", pod)
        yield Hit(
            subject=ref,
            message=f"{ref} rejected xDS config: " + "; ".join(facts),
            evidence=tuple(dict.fromkeys(evidence)),
            ztunnel=pod,
        )
