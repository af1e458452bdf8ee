"""Every safety limit of the bundle reader, in one place; the CLI can raise them (`--limit-scale`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what `open_bundle` accepts before it reads (or keeps reading) a member."""

    max_archive_bytes: int = 1024 * MiB  # the compressed file on disk
    max_member_bytes: int = 256 * MiB  # one member, uncompressed
    max_total_bytes: int = 2048 * MiB  # all members, uncompressed
    max_ratio: float = 200.0  # total uncompressed / compressed size ...
    ratio_floor_bytes: int = 16 * MiB  # ... only checked above this size (tiny tars are mostly padding)
    max_members: int = 200_000
    max_json_depth: int = 64
    max_log_bytes: int = 64 * MiB  # a log member larger than this is read but marked trimmed
    max_header_record_bytes: int = 64 * 1024  # one GNU long-name or PAX record, read before its member
    max_json_containers: int = 4_000_000  # objects + arrays in one JSON member (a 256 MiB dump has ~3.5M)
    max_recipe_pieces: int = 1024  # objects named by one format-2 recipe (the writer cuts at top-level keys)
    # What format-2 recipes describe, rebuilt: deduplication makes this far larger than the archive
    # (1,000 ztunnels: 28.5 GB in 22 MB), so it has its own bounds; a recipe rebuilt whole (read,
    # extracted, or parsed as one document) is charged against max_total_bytes and max_ratio.
    max_logical_bytes: int = 64 * 1024 * MiB
    max_logical_ratio: float = 5000.0

    def scaled(self, factor: float) -> Limits:
        """All size/count limits multiplied by `factor` (depth and ratio unchanged)."""
        if factor <= 0:
            raise ValueError("limit scale must be positive")
        return replace(
            self,
            max_archive_bytes=int(self.max_archive_bytes * factor),
            max_member_bytes=int(self.max_member_bytes * factor),
            max_total_bytes=int(self.max_total_bytes * factor),
            max_members=int(self.max_members * factor),
            max_log_bytes=int(self.max_log_bytes * factor),
            max_json_containers=int(self.max_json_containers * factor),
            max_logical_bytes=int(self.max_logical_bytes * factor),
        )


DEFAULT = Limits()
