"""Re-issue a bundle's certificates with pseudonymized SPIFFE IDs, keeping what the analyzer reads.

A workload certificate names its namespace and service account in its URI SAN, inside the PEM where a
text substitution cannot reach. Each distinct certificate is re-issued once: same serial number,
same validity dates, same position in its chain, its URI SANs (and subject text) passed through the
mapper, signed by the re-issued form of its real issuer. A real CA that is not itself in the bundle
gets one throwaway CA per distinct issuer name, so certificates that shared a root still share one
and certificates that did not still do not: trust relations between ztunnels are kept. Keys are new
and thrown away; signatures are not the originals, which the manifest says.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]{1,65536}?-----END CERTIFICATE-----")


class Reissuer:
    """Real certificate → re-issued one, consistent across the bundle; `count` is how many were made."""

    def __init__(self, rename: Callable[[str], str]) -> None:
        self._rename = rename  # the mapper's text substitution: SPIFFE IDs, names
        self._by_der: dict[bytes, x509.Certificate] = {}  # real DER digest → re-issued certificate
        self._keys: dict[bytes, ed25519.Ed25519PrivateKey] = {}  # real DER digest → new key
        self._real: dict[bytes, x509.Certificate] = {}  # real subject DER → a real certificate with it
        self._throwaway: dict[bytes, tuple[x509.Name, ed25519.Ed25519PrivateKey]] = {}
        self.count = 0

    def learn(self, pem_text: str) -> None:
        """See every certificate first, so an issuer met later in the bundle signs its leaves."""
        for cert in _certs(pem_text):
            self._real.setdefault(cert.subject.public_bytes(), cert)

    def pem(self, value: str) -> str:
        """A `pem` field (raw PEM or base64 of PEM) with every certificate in it re-issued."""
        encoded = not value.lstrip().startswith("-----BEGIN")
        text = value
        if encoded:
            try:
                text = base64.b64decode(value, validate=True).decode("ascii")
            except (binascii.Error, ValueError, UnicodeDecodeError):
                return value
        new = _PEM_BLOCK.sub(lambda m: self._block(m.group(0)), text)
        if new == text:
            return value
        return base64.b64encode(new.encode()).decode() if encoded else new

    def _block(self, block: str) -> str:
        try:
            cert = x509.load_pem_x509_certificate(block.encode())
        except ValueError:
            return block
        return self._reissue(cert, 0).public_bytes(serialization.Encoding.PEM).decode().strip()

    def _reissue(self, cert: x509.Certificate, depth: int) -> x509.Certificate:
        real = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
        done = self._by_der.get(real)
        if done is not None:
            return done
        key = ed25519.Ed25519PrivateKey.generate()
        subject = self._name(cert.subject)
        self_signed = cert.issuer == cert.subject
        if self_signed:
            issuer_name, issuer_key = subject, key
        else:
            issuer_name, issuer_key = self._issuer(cert, depth)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(cert.serial_number)
            .not_valid_before(cert.not_valid_before_utc)
            .not_valid_after(cert.not_valid_after_utc)
        )
        for ext in cert.extensions:
            value = ext.value
            if isinstance(value, x509.SubjectAlternativeName):
                builder = builder.add_extension(self._san(value), critical=ext.critical)
            elif isinstance(value, x509.BasicConstraints | x509.KeyUsage | x509.ExtendedKeyUsage):
                builder = builder.add_extension(value, critical=ext.critical)
        new = builder.sign(issuer_key, None)
        self._by_der[real] = new
        self._keys[real] = key
        self.count += 1
        return new

    def _issuer(self, cert: x509.Certificate, depth: int) -> tuple[x509.Name, ed25519.Ed25519PrivateKey]:
        """The re-issued issuer: the real one when the bundle holds it, else a throwaway per issuer name."""
        real_issuer = self._real.get(cert.issuer.public_bytes())
        if real_issuer is not None and real_issuer.subject != cert.subject and depth < 8:
            new = self._reissue(real_issuer, depth + 1)
            real = hashlib.sha256(real_issuer.public_bytes(serialization.Encoding.DER)).digest()
            return new.subject, self._keys[real]
        ident = cert.issuer.public_bytes()
        if ident not in self._throwaway:
            self._throwaway[ident] = (self._name(cert.issuer), ed25519.Ed25519PrivateKey.generate())
        return self._throwaway[ident]

    def _name(self, name: x509.Name) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(a.oid, self._rename(a.value) if isinstance(a.value, str) else a.value)
                if a.oid in _TEXT_OIDS
                else a
                for a in name
            ]
        )

    def _san(self, san: x509.SubjectAlternativeName) -> x509.SubjectAlternativeName:
        out: list[x509.GeneralName] = []
        for general in san:
            if isinstance(general, x509.UniformResourceIdentifier):
                out.append(x509.UniformResourceIdentifier(self._rename(general.value)))
            elif isinstance(general, x509.DNSName):
                out.append(x509.DNSName(self._rename(general.value)))
            else:
                out.append(general)
        return x509.SubjectAlternativeName(out)


_TEXT_OIDS = frozenset({NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME})


def _certs(value: str) -> list[x509.Certificate]:
    text = value
    if not value.lstrip().startswith("-----BEGIN"):
        try:
            text = base64.b64decode(value, validate=True).decode("ascii")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return []
    out = []
    for block in _PEM_BLOCK.findall(text):
        try:
            out.append(x509.load_pem_x509_certificate(block.encode()))
        except ValueError:
            continue
    return out

