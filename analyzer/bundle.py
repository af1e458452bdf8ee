"""Safe bundle reader: a .tar.gz is read fully in memory, validated member by member, never extracted.

Every rejection is a `BundleError(bundle, member, problem)`; the CLI prints it as one line.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer import bugreport, tarscan
from analyzer.errors import BundleError
from analyzer.jsonsafe import parse_json
from analyzer.limits import DEFAULT, Limits
from analyzer.parse import parse_time
from analyzer.store import logical_members
from ztbundle import layout
from ztbundle.schema_check import manifest_accepts as schema_accepts

_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")


@dataclass(frozen=True, slots=True)
class BundleFiles:
    """The validated members of a bundle (bytes as stored) and its parsed, schema-valid manifest."""

    path: Path
    members: Mapping[str, bytes]
    manifest: Mapping[str, Any]
    limits: Limits = DEFAULT

    def names(self) -> Iterator[str]:
        return iter(self.members)

    def has(self, member: str) -> bool:
        return member in self.members

    def read(self, member: str) -> bytes:
        try:
            return self.members[member]
        except KeyError:
            raise BundleError(self.path, member, "not in the bundle") from None

    def text(self, member: str) -> str:
        """The member decoded as UTF-8; invalid UTF-8 → BundleError naming the member."""
        data = self.read(member)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BundleError(self.path, member, f"invalid UTF-8 at byte {exc.start}") from None

    def json(self, member: str) -> Any:
        """The member parsed as JSON with the depth limit; duplicate keys keep the LAST value."""
        return parse_json(
            self.path, member, self.text(member), self.limits.max_json_depth, self.limits.max_json_containers
        )


def _check_name(bundle: Path, name: str, segment: re.Pattern[str] = _SEGMENT) -> str:
    if not name or name.startswith("/") or re.match(r"^[A-Za-z]:", name) or "\\" in name or "\0" in name:
        raise BundleError(bundle, name or "<empty>", "unsafe member name (absolute or malformed path)")
    parts = name.rstrip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise BundleError(bundle, name, "unsafe member name ('..', '.' or empty path segment)")
    if not all(segment.match(p) for p in parts):
        raise BundleError(bundle, name, "unsafe member name (unexpected characters)")
    return name.rstrip("/")


def _check_type(bundle: Path, info: tarfile.TarInfo) -> None:
    kinds = {
        tarfile.SYMTYPE: "symbolic link",
        tarfile.LNKTYPE: "hard link",
        tarfile.CHRTYPE: "character device",
        tarfile.BLKTYPE: "block device",
        tarfile.FIFOTYPE: "FIFO",
        tarfile.GNUTYPE_SPARSE: "sparse file",
    }
    if info.type in kinds:
        raise BundleError(bundle, info.name, f"{kinds[info.type]} members are not allowed")
    if not (info.isreg() or info.isdir()) or info.issparse():
        raise BundleError(bundle, info.name, "only regular files are allowed")


def _read_members(
    path: Path, raw: bytes, tape: tarscan.Tape, limits: Limits, segment: re.Pattern[str] = _SEGMENT
) -> dict[str, bytes]:
    """The members of the tar stream `tarscan.scan` inflated from `raw` (and vetted), read by `tarfile`."""
    members: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=tape, mode="r:") as tar:  # type: ignore[call-overload]
            for count, info in enumerate(tar, start=1):
                if count > limits.max_members:
                    raise BundleError(path, None, f"more than {limits.max_members} members")
                name = _check_name(path, info.name, segment)
                _check_type(path, info)
                if name in members:
                    raise BundleError(path, name, "duplicate member")
                if info.isdir():
                    continue
                if info.size > limits.max_member_bytes:
                    raise BundleError(
                        path,
                        name,
                        f"member is {info.size} bytes, over the {limits.max_member_bytes}-byte limit",
                    )
                total += info.size
                if total > limits.max_total_bytes:
                    raise BundleError(path, name, f"bundle expands beyond {limits.max_total_bytes} bytes")
                if total > limits.ratio_floor_bytes and total > limits.max_ratio * max(len(raw), 1):
                    raise BundleError(
                        path,
                        name,
                        f"compression ratio over {limits.max_ratio:g}:1 (possible decompression bomb)",
                    )
                fobj = tar.extractfile(info)
                data = fobj.read() if fobj else b""
                if len(data) != info.size:
                    raise BundleError(path, name, "truncated member")
                members[name] = data
    except BundleError:
        raise
    except (tarfile.CompressionError, OSError, zlib.error) as exc:
        if isinstance(exc, OSError) and "gzip" not in str(exc).lower() and not isinstance(exc, EOFError):
            raise BundleError(path, None, f"cannot read: {exc}") from None
        raise BundleError(path, None, "not a gzip-compressed tar archive (or truncated)") from None
    except EOFError:
        raise BundleError(path, None, "truncated archive (unexpected end of data)") from None
    except tarfile.TarError as exc:
        if "unexpected end of data" in str(exc):  # the gzip stream ended inside a member
            raise BundleError(path, None, "truncated archive (unexpected end of data)") from None
        raise BundleError(path, None, f"not a valid tar archive: {exc}") from None
    return members


def _manifest(path: Path, members: Mapping[str, bytes], limits: Limits) -> dict[str, Any]:
    if layout.MANIFEST not in members:
        raise BundleError(path, layout.MANIFEST, "missing: this is not a ztbundle bundle")
    try:
        text = members[layout.MANIFEST].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(path, layout.MANIFEST, f"invalid UTF-8 at byte {exc.start}") from None
    manifest = parse_json(path, layout.MANIFEST, text, limits.max_json_depth)
    error = None if schema_accepts(manifest) else _schema_error(manifest)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message[:200]
        if error.validator == "pattern" and where.endswith("/path"):
            message = f"{error.instance[:200]!r} is not a bundle path (a segment is not a DNS-1123 name)"
        raise BundleError(path, layout.MANIFEST, f"does not match the manifest schema at {where}: {message}")
    _check_times(path, manifest)
    if manifest["format_version"] > layout.FORMAT_VERSION:
        raise BundleError(
            path,
            layout.MANIFEST,
            f"format_version {manifest['format_version']} is newer "
            f"than this ztbundle understands ({layout.FORMAT_VERSION}); upgrade ztbundle",
        )
    assert isinstance(manifest, dict)
    return manifest


def _schema_error(manifest: Any) -> Any:
    """jsonschema's most relevant error for the manifest (None: valid after all)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(layout.manifest_schema())
    return jsonschema.exceptions.best_match(validator.iter_errors(manifest))


def _check_times(path: Path, manifest: Mapping[str, Any]) -> None:
    """The schema's pattern admits 2026-02-30; every time must also be a real date and time."""
    stamps = [(key, manifest.get(key)) for key in ("started_at", "finished_at")]
    for i, a in enumerate(manifest["artifacts"]):
        stamps += [(f"artifacts/{i}/{key}", a.get(key)) for key in ("started_at", "finished_at")]
    for where, value in stamps:
        if value is not None and parse_time(value) is None:
            raise BundleError(path, layout.MANIFEST, f"{where}: {value!r} is not a valid date and time")


def open_bundle(path: Path | str, limits: Limits = DEFAULT) -> BundleFiles:
    """Read and validate a bundle; raise BundleError naming the bundle and member on any problem."""
    path = Path(path)
    if path.is_dir():  # an extracted istioctl bug-report, walked with this reader's name check
        laid = bugreport.open_directory(path, limits, lambda b, n: _check_name(b, n, bugreport.NAME_SEGMENT))
        return BundleFiles(path, *laid, limits)
    try:
        size = path.stat().st_size
        if size > limits.max_archive_bytes:
            raise BundleError(
                path, None, f"archive is {size} bytes, over the {limits.max_archive_bytes}-byte limit"
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BundleError(path, None, "no such file") from None
    except IsADirectoryError:
        raise BundleError(path, None, "is a directory, not a bundle") from None
    except OSError as exc:
        raise BundleError(path, None, f"cannot read: {exc.strerror or exc}") from None
    if raw[:2] != b"\x1f\x8b":
        raise BundleError(path, None, "not a gzip-compressed tar archive")
    tape = tarscan.scan(path, raw, limits)  # framing and sizes first: tarfile reads headers whole
    try:
        members: Mapping[str, bytes] = _read_members(path, raw, tape, limits, bugreport.NAME_SEGMENT)
    finally:
        tape.close()
    del tape  # the inflated stream: the members are copies of its pieces
    if layout.MANIFEST not in members and bugreport.recognise(members):
        return BundleFiles(path, *bugreport.from_members(path, members, limits), limits)
    for name in members:  # istioctl's `config_dump?include_eds` is fine there, never in a bundle
        _check_name(path, name)
    manifest = _manifest(path, members, limits)
    # format 2: shared objects → logical paths
    members = logical_members(path, members, manifest, limits, len(raw))
    listed = {a["path"] for a in manifest["artifacts"]} | {layout.MANIFEST}
    for name in members:
        if name not in listed:
            raise BundleError(path, name, "member is not listed in manifest.json")
    _check_integrity(path, members, manifest)
    return BundleFiles(path, members, manifest, limits)


def _check_integrity(path: Path, members: Mapping[str, bytes], manifest: Mapping[str, Any]) -> None:
    """Every stored member must have exactly the size and sha256 the manifest recorded.

    A member the manifest says was stored but the archive lacks is left to the loader, which
    reports it as unavailable ("listed as collected but missing"), as for any failed artifact.
    """
    seen: set[str] = set()
    for a in manifest["artifacts"]:
        name = a["path"]
        if a.get("storage") == layout.Storage.RECIPE:
            continue  # analyzer.store checked its objects' digests and the rebuilt size
        if not a["stored"]:
            if name in members:
                raise BundleError(path, name, "member is in the archive but manifest.json says not stored")
            continue
        if name in seen:
            raise BundleError(path, name, "listed more than once in manifest.json")
        seen.add(name)
        data = members.get(name)
        if data is None:
            continue
        if len(data) != a["bytes"]:
            raise BundleError(path, name, f"member is {len(data)} bytes, manifest.json says {a['bytes']}")
        if a["sha256"] != hashlib.sha256(data).hexdigest():
            raise BundleError(path, name, "sha256 does not match manifest.json (corrupted or altered)")
