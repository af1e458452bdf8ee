"""Read an `istioctl bug-report` archive as a read-only ztbundle bundle (docs/istioctl-bug-report.md).

`analyzer.bundle.open_bundle` hands over a gzipped tar without `manifest.json` whose members show
istioctl's layout (`versions`, `cluster/`, `proxies/`, `istio/`, `cni/`, with or without the
`bug-report/` prefix), and any directory. The archive's members are read by the same safe reader
with the same limits (its name check is passed in: this package never imports `analyzer.bundle`,
which imports it); `analyzer.bugreport.build` then lays them out at `ztbundle.layout`'s logical
paths with a synthesized manifest, so the loader, rules and views run unchanged. Inputs istioctl
does not collect are listed as artifacts with status `skipped` and the reason `REASON`, which is
what the engine shows for every rule it skips.
"""

from __future__ import annotations

from analyzer.bugreport.out import REASON, SOURCE_FORMAT, source_of
from analyzer.bugreport.read import NAME_SEGMENT, from_members, open_directory, recognise

__all__ = [
    "NAME_SEGMENT",
    "REASON",
    "SOURCE_FORMAT",
    "from_members",
    "open_directory",
    "recognise",
    "source_of",
]
