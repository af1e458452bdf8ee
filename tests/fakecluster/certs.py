"""X.509 material: the API server's TLS CA/cert, and mesh certificates for ztunnel config_dumps.

Mesh certificates use Ed25519 keys derived from names, and Ed25519 signatures are deterministic,
so a scenario yields byte-identical PEMs on every run (golden files and sample bundles stay stable).
The TLS certificate uses ECDSA P-256 because every TLS stack accepts it; it need not be stable.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


def tls_material(now: datetime) -> TlsMaterial:
    """Generate a CA and a server certificate for IP:127.0.0.1 / DNS:localhost."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fakecluster-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return TlsMaterial(
        ca.public_bytes(serialization.Encoding.PEM),
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


# --- mesh certificates --------------------------------------------------------------------


@lru_cache(maxsize=256)  # the root's key signs every leaf of every node: derive it once
def _key(*seed: str) -> ed25519.Ed25519PrivateKey:
    digest = hashlib.sha256("/".join(("fakecluster-key",) + seed).encode()).digest()
    return ed25519.Ed25519PrivateKey.from_private_bytes(digest)


def _serial(*seed: str) -> int:
    return int.from_bytes(hashlib.sha256("/".join(seed).encode()).digest()[:16], "big") >> 1


@lru_cache(maxsize=64)
def root_cert(root: str, not_before: datetime) -> x509.Certificate:
    """The self-signed mesh root named `root` (a different name means a different root of trust)."""
    key = _key("root", root)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, root)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial("root", root))
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, None)
    )


@lru_cache(maxsize=4096)
def leaf_cert(
    identity: str, root: str, not_before: datetime, not_after: datetime, root_from: datetime
) -> x509.Certificate:
    """A workload certificate for a SPIFFE identity, signed by the named root."""
    issuer = root_cert(root, root_from)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(issuer.subject)
        .public_key(_key("leaf", identity).public_key())
        .serial_number(_serial("leaf", identity, root, not_before.isoformat()))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity)]), critical=True)
        .sign(_key("root", root), None)
    )


def rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def cert_dump(cert: x509.Certificate) -> dict[str, str]:
    """Render one certificate as ztunnel's CertDump: base64 of PEM, decimal serial, RFC3339 Z times."""
    pem = cert.public_bytes(serialization.Encoding.PEM)
    return {
        "pem": base64.b64encode(pem).decode(),
        "serialNumber": str(cert.serial_number),
        "validFrom": rfc3339(cert.not_valid_before_utc),
        "expirationTime": rfc3339(cert.not_valid_after_utc),
    }
