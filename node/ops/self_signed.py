"""A self-signed TLS pair for a node's API, for a test consortium (`tally node config
--self-signed-tls`).

A production consortium uses certificates from its CA; a test one needs https without one. The
certificate names the API's host, localhost and the loopback addresses, and marks itself a CA
so a client can trust exactly this file (`requests.get(url, verify="tls.crt")`, `curl
--cacert`). ECDSA P-256 rather than Ed25519: every TLS client (browsers included, for the
explorer) speaks it.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_FILE = "tls.crt"
KEY_FILE = "tls.key"
VALID_DAYS = 365
_ANY = {"0.0.0.0", "::", ""}  # listen everywhere: the address names no host


@dataclass(frozen=True, slots=True)
class TlsPair:
    cert: Path
    key: Path


def named_host(host: str) -> str:
    """The API's host, or (listening everywhere) this machine's name, which is what other
    hosts of a test consortium will dial."""
    host = host.strip("[]")
    return (socket.gethostname() or "localhost") if host in _ANY else host


def _alt_names(host: str) -> list[x509.GeneralName]:
    """localhost, the loopback addresses and `host` (a name or an address)."""
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    addresses = {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    if host != "localhost":
        try:
            addresses.add(ipaddress.ip_address(host))
        except ValueError:
            names.append(x509.DNSName(host))
    return names + [x509.IPAddress(a) for a in sorted(addresses, key=str)]


def self_signed_certificate(host: str, now: datetime.datetime) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) of a fresh pair valid for `host` from `now`."""
    key = ec.generate_private_key(ec.SECP256R1())
    host = named_host(host)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # clocks a little behind
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(_alt_names(host)), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def write_self_signed(folder: Path, host: str) -> TlsPair:
    """tls.crt and tls.key (mode 0600) in `folder`, for an API listening on `host`."""
    cert_pem, key_pem = self_signed_certificate(host, datetime.datetime.now(datetime.UTC))
    pair = TlsPair(folder / CERT_FILE, folder / KEY_FILE)
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(pair.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a key file that was there keeps no wider mode
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(key_pem)
    pair.cert.write_bytes(cert_pem)
    return pair
