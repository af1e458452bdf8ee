"""A certificate's fields read once and remembered: the same fields give the same reading, others not."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from analyzer.parse.certs import _cert

PEM = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n").decode()


def _raw(serial: Any) -> dict[str, Any]:
    return {"pem": PEM, "serialNumber": serial, "validFrom": "2026-01-01T00:00:00Z", "expirationTime": None}


@pytest.mark.parametrize(("serial", "read"), [(1, 1), ("1", 1), (True, True), (1.0, None), ([1], None)])
def test_a_remembered_reading_is_the_reading_of_those_very_fields(serial: Any, read: Any) -> None:
    for _ in range(2):  # the second time from memory, where the fields can be remembered
        cert = _cert(_raw(serial))
        assert cert is not None and cert.serial == read and type(cert.serial) is type(read)
        assert cert.valid_from is not None and cert.valid_from.year == 2026 and cert.expires is None
