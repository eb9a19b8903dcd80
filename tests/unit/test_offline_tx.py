"""Offline signing's files and signers (wallet/offline_tx.py, wallet/signer.py, txbuilder)."""

from __future__ import annotations

import http.server
import threading
import urllib.request
from collections.abc import Iterator

import pytest

from ledger.crypto import Ed25519Key
from ledger.errors import TallyError
from ledger.types import TxBody
from wallet.offline_tx import (
    no_network,
    read_signed,
    read_unsigned,
    signed_document,
    unsigned_document,
)
from wallet.signer import CallableSigner, KeySigner, Signer
from wallet.txbuilder import build_tx, sign_body, unsigned_body

KEY = Ed25519Key.from_seed(bytes(range(32)))


def _body() -> TxBody:
    args = {"currency": "CNY", "to": "acme", "amount": 5}
    return unsigned_body(KEY.public, "chain-x", "cash", "issue", args, 90)


def test_a_callable_signer_such_as_an_hsm_signs_like_a_key() -> None:
    calls: list[bytes] = []

    def hsm(message: bytes) -> bytes:
        calls.append(message)
        return KEY.sign(message)

    device = CallableSigner(KEY.public, hsm)
    assert isinstance(device, Signer) and isinstance(KeySigner(KEY), Signer)
    tx = build_tx(device, "chain-x", "cash", "issue", {"amount": 1}, 10)
    assert tx.signature_valid() and len(calls) == 1


def test_a_device_signing_with_another_key_or_garbage_is_caught() -> None:
    body = _body()
    with pytest.raises(TallyError) as wrong:
        sign_body(body, Ed25519Key.from_seed(bytes(32)))
    assert wrong.value.code == "WRONG_SIGNER"
    with pytest.raises(TallyError) as garbage:
        sign_body(body, CallableSigner(KEY.public, lambda m: bytes(64)))
    assert garbage.value.code == "BAD_SIGNATURE"


def test_an_unsigned_file_round_trips_and_a_reviewed_field_cannot_be_changed() -> None:
    body = _body()
    document = unsigned_document(body)
    assert read_unsigned(document) == body
    tampered = {**document, "args": {**document["args"], "amount": 500000}}
    with pytest.raises(TallyError) as refused:
        read_unsigned(tampered)
    assert refused.value.code == "BAD_TX_FILE"
    with pytest.raises(TallyError):
        read_unsigned({**document, "format": "something-else"})


def test_a_signed_file_is_checked_before_it_is_sent() -> None:
    tx = sign_body(_body(), KEY)
    document = signed_document(tx)
    assert read_signed(document).id == tx.id
    other = sign_body(_body(), KEY)
    with pytest.raises(TallyError) as mismatch:
        read_signed({**document, "tx": other.id.hex()})
    assert mismatch.value.code == "BAD_TX_FILE"


@pytest.fixture
def local_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_no_network_refuses_any_connection_and_restores_it_after(local_server: str) -> None:
    with no_network(), pytest.raises(TallyError) as refused:
        urllib.request.urlopen(local_server, timeout=5)
    assert refused.value.code == "OFFLINE_NETWORK"
    with urllib.request.urlopen(local_server, timeout=5) as answer:
        assert answer.status == 200
