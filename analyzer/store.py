"""Present a bundle's logical paths, rebuilding format-2 recipe artifacts from shared objects.

`logical_members()` turns the archive's members (raw members plus `objects/<sha256>`) into a
read-only mapping keyed by the LOGICAL paths of `ztbundle.layout`. Objects are kept once, as read;
a recipe artifact is concatenated only when someone reads it, so memory is O(unique content).

What is checked up front (cheap, O(objects)): every object's bytes hash to its name, every recipe
names only objects present, its pieces add up to the manifest's `bytes` (and stay under the
member size limit, so a recipe cannot be a decompression bomb), no object goes unreferenced, and
no member sits at a recipe artifact's path. The concatenation's sha256 was checked by the writer
before it recorded the recipe; re-hashing every rebuilt artifact on open would cost O(ztunnels ×
dump size), which is exactly what format 2 exists to avoid. Format-1 bundles have no objects:
the mapping is the members as they are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from analyzer.errors import BundleError
from analyzer.limits import Limits
from ztbundle import layout

_REBUILD_FLOOR = 1 << 20


class LogicalMembers(Mapping[str, bytes]):
    """Raw members by path, plus recipe artifacts rebuilt on each read (never cached).

    What reads rebuild is charged against `rebuild_budget` bytes (None: unbounded): parsing a
    rebuilt file costs what parsing a raw member of that size costs, so rebuilding is held to the
    raw members' own bounds (the total and the compression ratio against the archive's size).
    Reading piece by piece (`piece_bytes`) is free: it is what format 2 exists for.
    """

    def __init__(
        self,
        raw: Mapping[str, bytes],
        objects: Mapping[str, bytes],
        recipes: Mapping[str, tuple[str, ...]],
        bundle: Path | None = None,
        rebuild_budget: int | None = None,
    ):
        self._raw = raw
        self._objects = objects
        self._recipes = recipes
        self._bundle = bundle
        self._budget = rebuild_budget
        self.rebuilt_bytes = 0

    def __getitem__(self, path: str) -> bytes:
        pieces = self._recipes.get(path)
        if pieces is None:
            return self._raw[path]
        self.rebuilt_bytes += sum(len(self._objects[p]) for p in pieces)
        if self._budget is not None and self.rebuilt_bytes > self._budget:
            raise BundleError(
                self._bundle or "bundle",
                path,
                f"recipes rebuilt whole exceed {self._budget} bytes, the raw members' bound for this "
                "archive (possible recipe bomb)",
            )
        return b"".join(self._objects[p] for p in pieces)

    def __contains__(self, path: object) -> bool:
        return path in self._recipes or path in self._raw

    def __iter__(self) -> Iterator[str]:
        yield from self._raw
        yield from self._recipes

    def __len__(self) -> int:
        return len(self._raw) + len(self._recipes)

    def pieces(self, path: str) -> tuple[str, ...] | None:
        """The recipe of a logical path (object digests in order), or None for a raw member."""
        return self._recipes.get(path)

    def piece_bytes(self, path: str) -> tuple[tuple[str, bytes], ...] | None:
        """The recipe of a logical path as (digest, object bytes) pairs, or None for a raw member."""
        pieces = self._recipes.get(path)
        return None if pieces is None else tuple((p, self._objects[p]) for p in pieces)

    @property
    def unique_bytes(self) -> int:
        """Bytes held in memory: raw members plus each object once."""
        return sum(map(len, self._raw.values())) + sum(map(len, self._objects.values()))


def logical_members(
    bundle: Path,
    members: Mapping[str, bytes],
    manifest: Mapping[str, Any],
    limits: Limits,
    archive_bytes: int,
) -> Mapping[str, bytes]:
    """The members keyed by logical path; raise BundleError naming the member on any inconsistency."""
    raw: dict[str, bytes] = {}
    objects: dict[str, bytes] = {}
    for name, data in members.items():
        digest = layout.parse_object_member(name)
        if digest is None:
            raw[name] = data
            continue
        if manifest["format_version"] < 2:
            raise BundleError(bundle, name, f"object member in a format {manifest['format_version']} bundle")
        if hashlib.sha256(data).hexdigest() != digest:
            raise BundleError(
                bundle, name, "object content does not match its sha256 name (corrupted or altered)"
            )
        objects[digest] = data
    if not objects and not any(a.get("storage") == layout.Storage.RECIPE for a in manifest["artifacts"]):
        return members  # format 1, or format 2 with nothing deduplicated
    recipes = _recipes(bundle, raw, objects, manifest, limits)
    _check_logical_size(bundle, recipes, objects, limits, archive_bytes)
    # No 16 MiB floor here: that floor is for tar padding; a recipe is only ever rebuilt to be parsed.
    budget = min(limits.max_total_bytes, max(_REBUILD_FLOOR, int(limits.max_ratio * archive_bytes)))
    return LogicalMembers(raw, objects, recipes, bundle, budget)


def _check_logical_size(
    bundle: Path,
    recipes: Mapping[str, tuple[str, ...]],
    objects: Mapping[str, bytes],
    limits: Limits,
    archive_bytes: int,
) -> None:
    """What the recipes rebuild, counted before anything is rebuilt: bounded absolutely and per archive byte.

    Deduplication legitimately multiplies (1,000 ztunnels: 28.5 GB rebuilt from 22 MB), so these
    bounds are the recipes' own, far above the raw members' 200:1; a recipe whose bytes are ever
    rebuilt whole (`extract`, a dump that must be parsed as one document) is what a hostile bundle
    would use to make work out of nothing, and that is bounded here.
    """
    logical = 0
    for path, pieces in recipes.items():
        logical += sum(len(objects[p]) for p in pieces)
        if logical > limits.max_logical_bytes:
            raise BundleError(bundle, path, f"recipes rebuild more than {limits.max_logical_bytes} bytes")
        if logical > limits.ratio_floor_bytes and logical > limits.max_logical_ratio * max(archive_bytes, 1):
            raise BundleError(
                bundle,
                path,
                f"recipes rebuild over {limits.max_logical_ratio:g} times the archive's size "
                "(possible recipe bomb)",
            )


def _recipes(
    bundle: Path,
    raw: Mapping[str, bytes],
    objects: Mapping[str, bytes],
    manifest: Mapping[str, Any],
    limits: Limits,
) -> dict[str, tuple[str, ...]]:
    recipes: dict[str, tuple[str, ...]] = {}
    used: set[str] = set()
    for a in manifest["artifacts"]:
        if a.get("storage") != layout.Storage.RECIPE:
            continue
        path = a["path"]
        if path in raw:
            raise BundleError(bundle, path, "member is in the archive but manifest.json says it is a recipe")
        if path in recipes:
            raise BundleError(bundle, path, "listed more than once in manifest.json")
        if not a["stored"]:
            raise BundleError(
                bundle, path, "manifest.json gives a recipe for an artifact it says is not stored"
            )
        pieces = tuple(a["pieces"])
        if len(pieces) > limits.max_recipe_pieces:
            raise BundleError(
                bundle, path, f"recipe has {len(pieces)} pieces, over the limit of {limits.max_recipe_pieces}"
            )
        if len(recipes) >= limits.max_members:
            raise BundleError(bundle, path, f"more than {limits.max_members} recipes")
        missing = next((p for p in pieces if p not in objects), None)
        if missing is not None:
            raise BundleError(
                bundle, path, f"recipe names {layout.object_member(missing)}, not in the archive"
            )
        total = sum(len(objects[p]) for p in pieces)
        if total != a["bytes"]:
            raise BundleError(bundle, path, f"recipe rebuilds {total} bytes, manifest.json says {a['bytes']}")
        if total > limits.max_member_bytes:
            raise BundleError(
                bundle, path, f"recipe rebuilds {total} bytes, over the {limits.max_member_bytes}-byte limit"
            )
        recipes[path] = pieces
        used.update(pieces)
    orphan = next((d for d in objects if d not in used), None)
    if orphan is not None:
        raise BundleError(
            bundle, layout.object_member(orphan), "object is not used by any recipe in manifest.json"
        )
    return recipes
