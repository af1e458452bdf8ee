"""`ztbundle convert ARCHIVE`: write an istioctl bug-report as a ztbundle bundle, for `diff` and sharing.

The archive is read like `analyze` reads it (same checks and limits). Each member it presents goes
through the collector's redaction pass and archive writer, as if collected, so the bundle is held
to the same rules as any other: credentials redacted and recorded, and a last leak scan before the
file is renamed into place. The manifest keeps the archive's origin (`options.source_format`,
`options.istioctl_version`) and lists what the archive lacked as skipped, with the reason.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from ztbundle.commands._args import add_limit_scale
from ztbundle.errors import UsageError
from ztbundle.exits import Exit

EPILOG = """examples:
  # bug-report.tar.gz → bug-report.ztbundle.tar.gz, next to it
  ztbundle convert bug-report.tar.gz

  # then compare it with a bundle collected after a fix
  ztbundle convert bug-report.tar.gz --out-file before.tar.gz
  ztbundle diff before.tar.gz after.tar.gz"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "convert",
        help="write an istioctl bug-report archive as a ztbundle bundle",
        description="read an istioctl bug-report (.tar.gz or its directory) and write a ztbundle bundle",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "archive", type=Path, help="an istioctl bug-report .tar.gz or the directory it extracts to"
    )
    p.add_argument(
        "--out-file", type=Path, help="bundle to write (default: <archive>.ztbundle.tar.gz next to it)"
    )
    add_limit_scale(p)
    p.set_defaults(run=run)


def _default_out(archive: Path) -> Path:
    name = archive.name.removesuffix(".tar.gz").removesuffix(".tgz") or "bug-report"
    return archive.with_name(f"{name}.ztbundle.tar.gz")


def _redacted(path: str, data: bytes) -> tuple[bytes | None, list[dict[str, Any]], str | None]:
    """The collector's redaction pass over one member: (bytes to store, redactions, why withheld)."""
    from collector import redact
    from collector.body import Body

    body, redactions, withheld = redact.apply(path, Body.of(data), None, is_json=path.endswith(".json"))
    return (body.read_bytes() if body is not None else None), [r.to_json() for r in redactions], withheld


def run(args: argparse.Namespace) -> Exit:
    from analyzer.bugreport import source_of
    from analyzer.bundle import open_bundle
    from analyzer.limits import DEFAULT
    from collector.archive import BundleWriter
    from ztbundle import layout

    files = open_bundle(args.archive, DEFAULT.scaled(args.limit_scale))
    source = source_of(files.manifest)
    if source is None:
        raise UsageError(f"{args.archive}: already a ztbundle bundle; nothing to convert")
    out = args.out_file or _default_out(args.archive)
    if out.resolve() == args.archive.resolve():
        raise UsageError(f"{out}: refusing to overwrite the archive being converted")
    manifest = json.loads(json.dumps(files.manifest))  # a copy to complete with what was written
    manifest["options"]["converted_from"] = str(args.archive)
    writer = BundleWriter(out, dedupe=False)
    try:
        for artifact in manifest["artifacts"]:
            if not artifact["stored"]:
                continue
            data, redactions, withheld = _redacted(artifact["path"], files.read(artifact["path"]))
            manifest["redactions"] += redactions
            if data is None:
                artifact.update(stored=False, bytes=0, sha256=None, status="skipped", error=withheld)
                continue
            artifact.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
            writer.add(artifact["path"], data)
        writer.finish(layout.MANIFEST, json.dumps(manifest, indent=2).encode())
    except BaseException:
        writer.abort()
        writer.partial.unlink(missing_ok=True)
        raise
    stored = sum(1 for a in manifest["artifacts"] if a["stored"])
    lacking = len(manifest["artifacts"]) - stored
    print(
        f"wrote {out}: {stored} artifact(s) from the {source} archive; {lacking} it does not carry "
        f"listed as skipped; {len(manifest['redactions'])} redaction(s)"
    )
    return Exit.OK
