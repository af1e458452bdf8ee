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
        )


DEFAULT = Limits()
