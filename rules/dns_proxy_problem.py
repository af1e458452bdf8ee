"""A ztunnel's DNS proxy cannot bind its port or keeps failing lookups.

ztunnel's DNS proxy (on by default for ambient since Istio 1.25) answers the
DNS queries of captured pods; if it cannot bind [::1]:15053 (IPv6 disabled on
the node) or fails lookups (headless/SRV names, DNS UPDATE, ServiceEntries
without VIPs), applications on that node see resolution failures.

Evidence:
    The ztunnel's DNS proxy is not disabled (config_dump `config.dnsProxy`)
    and its current log has a bind failure on port 15053 (any occurrence:
    the proxy never started), or `dns lookup failed`, `unimplemented
    op_code` or access-log `dns` errors in the 30 minutes before capture
    (older ones are history). Upstream DNS outages look the same; compare
    with pods outside the mesh.

Fix:
    Let ztunnel's DNS proxy bind, or take the failing names out of DNS capture.
    Offline: `ztbundle logs BUNDLE --ztunnel <pod> --errors`. Live: `kubectl logs
    -n istio-system <ztunnel-pod> | grep -i dns`. For bind errors on
    IPv6-disabled nodes set `IPV6_ENABLED=false` on the ztunnel. For failing
    names, test from an ambient pod (`kubectl exec <pod> -- nslookup <name>`);
    opt a pod out with `ambient.istio.io/dns-capture: "false"`.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Component, Input, LogEvent, LogFile, ObjectRef
from rules import Hit, Rule, Severity
from rules._logscan import find, latest, tally

RULE = Rule(
    code="ZT602",
    name="dns-proxy-problem",
    severity=Severity.WARNING,
    needs=frozenset({Input.ZTUNNEL_LOGS, Input.ZTUNNEL_CONFIG}),
    doc=__doc__,
    next_steps=("ztbundle logs {bundle} --ztunnel {ztunnel} --errors",),
)

BIND = ("failed to bind", "Bind(", "AddrNotAvailable", "Address family not supported")
LOOKUP = ("dns lookup failed", "unimplemented op_code")
MIN_REPEATS = 1  # the catalogue does not ask for repetition: one recent failure is live


def _bind_error(event: LogEvent) -> bool:
    text = " ".join((event.message, *event.fields.values()))
    return "15053" in text and any(b in text for b in BIND)


def _lookup_error(event: LogEvent) -> bool:
    if event.target == "access":
        return event.fields.get("error", "").startswith("dns")
    return any(n in event.message for n in LOOKUP)


def _facts(bundle: Bundle, log: LogFile) -> tuple[list[str], list[str]]:
    facts, evidence = [], []
    binds = list(find([log], ["15053"], _bind_error))
    if binds:
        first = binds[0].event
        facts.append(f"bind failure on port 15053: {first.message} {first.fields.get('error', '')}".strip())
        evidence.append(log.path)
    # `dns` is in every ztunnel log (its startup config says `dnsProxy`): look for the lines
    # `_lookup_error` accepts, so a log without one is not parsed.
    lookups = list(find([log], ["dns", "op_code"], _lookup_error, raw=(*LOOKUP, "error=dns", 'error="dns')))
    t = tally(lookups, bundle.now)
    if t.live(MIN_REPEATS):
        last = (latest(lookups) or lookups[-1]).event
        detail = last.fields.get("error") or last.fields.get("hostname") or last.message
        facts.append(f"DNS lookups failed {t.describe()} (last: {detail})")
        evidence.extend(t.paths)
    return facts, evidence


def check(bundle: Bundle) -> Iterator[Hit]:
    for log in bundle.logs_of(Component.ZTUNNEL):
        if log.previous:
            continue  # the running container's proxy is what pods use now
        ztunnel = bundle.ztunnel_named(log.pod)
        if ztunnel is not None and ztunnel.available and ztunnel.config.dns_proxy is False:
            continue  # DNS proxy disabled: its errors cannot come from it
        facts, evidence = _facts(bundle, log)
        if not facts:
            continue
        ref = ztunnel.ref if ztunnel else ObjectRef("Ztunnel", "istio-system", log.pod)
        yield Hit(
            subject=ref,
            message=f"{ref} DNS proxy: " + "; ".join(facts),
            evidence=(*dict.fromkeys(evidence), *((ztunnel.config_dump_path,) if ztunnel else ())),
            node=ztunnel.node if ztunnel else None,
            ztunnel=log.pod,
        )
