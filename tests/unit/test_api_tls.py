"""`[api] tls_cert`/`tls_key`: a pair that serves, or a coded BAD_CONFIG saying what is wrong."""

from __future__ import annotations

import json
import socket
import ssl
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from node.cli import tally
from node.config import ConfigError, load_config
from node.ops.self_signed import write_self_signed

BASE = """[node]
name = "validator-0"
genesis = "genesis.json"

[api]
port = 8700
"""


def _config(folder: Path, api_lines: str) -> Path:
    path = folder / "node.toml"
    path.write_text(BASE + api_lines)
    return path


def test_a_self_signed_pair_loads_and_names_the_host(tmp_path: Path) -> None:
    pair = write_self_signed(tmp_path, "10.1.2.3")
    config = load_config(_config(tmp_path, 'tls_cert = "tls.crt"\ntls_key = "tls.key"\n'))
    assert config.api_tls is not None and config.api_tls.cert == tmp_path / "tls.crt"
    assert config.api_scheme == "https"
    assert isinstance(config.api_tls.server_context(), ssl.SSLContext)
    assert pair.key.stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} >= {
        "10.1.2.3",
        "127.0.0.1",
    }
    assert "localhost" in names.get_values_for_type(x509.DNSName)


def test_no_tls_is_plain_http(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, ""))
    assert config.api_tls is None and config.api_scheme == "http"


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ('tls_cert = "tls.crt"\n', "set both or neither"),
        ('tls_key = "tls.key"\n', "set both or neither"),
        ('tls_cert = "missing.crt"\ntls_key = "tls.key"\n', "missing.crt is not a file"),
        ('tls_cert = "tls.crt"\ntls_key = "missing.key"\n', "missing.key is not a file"),
        ('tls_cert = "garbage.pem"\ntls_key = "tls.key"\n', "not a PEM certificate"),
        ('tls_cert = "tls.crt"\ntls_key = "other/tls.key"\n', "not a PEM certificate"),
        ('tls_cert = "."\ntls_key = "tls.key"\n', "is not a file"),
        ("tls_cert = 5\n", "must be a str"),
    ],
)
def test_bad_tls_files_are_a_config_error(tmp_path: Path, lines: str, words: str) -> None:
    write_self_signed(tmp_path, "127.0.0.1")
    write_self_signed(tmp_path / "other", "127.0.0.1")  # a key that is not tls.crt's
    (tmp_path / "garbage.pem").write_text("-----BEGIN CERTIFICATE-----\nnot one\n")
    with pytest.raises(ConfigError) as refused:
        load_config(_config(tmp_path, lines))
    assert refused.value.code == "BAD_CONFIG"
    assert words in refused.value.message


def test_node_config_writes_a_self_signed_pair_and_its_lines(tmp_path: Path) -> None:
    out = tmp_path / "bank-x" / "node.toml"
    args = ["node", "config", "--name", "validator-bank-x", "--genesis", "genesis.json"]
    args += ["--key", "validator.key", "--out", str(out), "--self-signed-tls", "--json"]
    result = CliRunner().invoke(tally, args)
    assert result.exit_code == 0, result.output
    written = json.loads(result.output.splitlines()[-1])
    assert written["tls_cert"] == str(out.parent / "tls.crt")
    config = load_config(out)
    assert config.api_tls is not None
    assert config.api_tls.key == out.parent / "tls.key"
    assert config.api_access.mode == "members"
    again = CliRunner().invoke(tally, [*args, "--force"])
    assert again.exit_code == 0, again.output
    out.unlink()  # the pair is still there: it is not replaced without --force
    kept = CliRunner().invoke(tally, args)
    assert kept.exit_code != 0 and "tls.crt already exists" in kept.output


def test_a_pair_for_an_api_listening_everywhere_names_this_machine(tmp_path: Path) -> None:
    pair = write_self_signed(tmp_path, "0.0.0.0")
    cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert socket.gethostname() in names.get_values_for_type(x509.DNSName)
    assert "0.0.0.0" not in {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}


def test_an_encrypted_key_is_refused_not_prompted_for(tmp_path: Path) -> None:
    pair = write_self_signed(tmp_path, "127.0.0.1")
    key = serialization.load_pem_private_key(pair.key.read_bytes(), None)
    encryption = serialization.BestAvailableEncryption(b"passphrase")
    pair.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    with pytest.raises(ConfigError, match="is encrypted"):
        load_config(_config(tmp_path, 'tls_cert = "tls.crt"\ntls_key = "tls.key"\n'))
