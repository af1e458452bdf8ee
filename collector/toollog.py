"""The collector's own log, captured for the bundle through a masking filter so no credential leaks."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable

LOGGER = logging.getLogger("ztbundle")
MASK = "***"

_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"
    ),  # JWTs, e.g. service-account tokens
    re.compile(r"(?i)((?:token|password|authorization|secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
)


class MaskingFilter(logging.Filter):
    """Replace known credentials and anything token-shaped in a record's final message."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
            if secret.lower().startswith("bearer "):
                text = text.replace(secret[7:], MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.mask(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class ToolLog:
    """Attach a capturing handler to our loggers for the duration of one run."""

    _CAPTURED = ("ztbundle", "collector", "kubernetes", "urllib3", "websocket")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._buffer = io.StringIO()
        self._handler = logging.StreamHandler(self._buffer)
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self._handler.addFilter(MaskingFilter(secrets))
        self._saved: list[tuple[logging.Logger, int]] = []

    def __enter__(self) -> ToolLog:
        for name in self._CAPTURED:
            logger = logging.getLogger(name)
            self._saved.append((logger, logger.level))
            # Our own records at INFO; the libraries only when something went wrong.
            logger.setLevel(logging.INFO if name == "ztbundle" else logging.WARNING)
            logger.addHandler(self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for logger, level in self._saved:
            logger.removeHandler(self._handler)
            logger.setLevel(level)
        self._saved.clear()

    def value(self) -> bytes:
        self._handler.flush()
        return self._buffer.getvalue().encode("utf-8")
