"""Confidential documents (ledger/documents.py): a reader's key opens the envelope, nothing else
does, and a document that is not the one the ledger names is refused."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.crypto import Ed25519Key
from ledger.documents import (
    TAG_SIZE,
    DocumentError,
    Envelope,
    envelope_from_value,
    open_document,
    seal_document,
    unwrap_key,
    wrap_key,
)
from ledger.hashing import sha256

PDF = b"%PDF-1.7 invoice INV-1001 " + bytes(range(256)) * 4
ACME = Ed25519Key.from_seed(b"a" * 32)
BIGAUTO = Ed25519Key.from_seed(b"b" * 32)
BANK = Ed25519Key.from_seed(b"c" * 32)


def sealed() -> tuple[Envelope, bytes]:
    return seal_document(PDF, {"acme-steel": [ACME.public], "bigauto": [BIGAUTO.public]})


def test_every_reader_opens_the_document_and_its_hash_is_the_ledgers() -> None:
    envelope, _ = sealed()
    assert envelope.doc_hash == sha256(PDF)
    assert envelope.orgs() == ("acme-steel", "bigauto")
    assert PDF not in envelope.ciphertext
    for org, key in (("acme-steel", ACME), ("bigauto", BIGAUTO)):
        assert open_document(envelope, org, key.seed, sha256(PDF)) == PDF


def test_two_seals_of_one_document_differ() -> None:
    first, first_key = sealed()
    second, second_key = sealed()
    assert first_key != second_key and first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext


def test_a_key_it_was_not_wrapped_for_is_refused() -> None:
    envelope, _ = sealed()
    with pytest.raises(DocumentError) as refused:
        open_document(envelope, "bank-a", BANK.seed, sha256(PDF))
    assert refused.value.code == "DOCUMENT_NOT_SHARED"


def test_a_wrapped_key_sealed_to_another_key_is_refused() -> None:
    envelope, data_key = sealed()
    forged = dataclasses.replace(wrap_key(data_key, "bank-a", ACME.public), public=BANK.public)
    with pytest.raises(DocumentError) as refused:
        unwrap_key(envelope.with_keys([forged]), "bank-a", BANK.seed)
    assert refused.value.code == "DOCUMENT_KEY_REFUSED"


def test_a_granted_reader_opens_it_with_a_key_wrapped_later() -> None:
    envelope, data_key = sealed()
    shared = envelope.with_keys([wrap_key(data_key, "bank-a", BANK.public)])
    assert open_document(shared, "bank-a", BANK.seed, sha256(PDF)) == PDF
    assert shared.only_for("bank-a").orgs() == ("bank-a",)


def test_tampered_ciphertext_is_refused() -> None:
    envelope, _ = sealed()
    flipped = bytes([envelope.ciphertext[0] ^ 1]) + envelope.ciphertext[1:]
    with pytest.raises(DocumentError) as refused:
        open_document(
            dataclasses.replace(envelope, ciphertext=flipped), "bigauto", BIGAUTO.seed, sha256(PDF)
        )
    assert refused.value.code == "DOCUMENT_TAMPERED"


def test_an_envelope_relabelled_with_another_hash_is_refused() -> None:
    """The AEAD is bound to doc_hash: the same ciphertext under another hash does not open."""
    envelope, _ = sealed()
    other = sha256(b"another invoice")
    relabelled = dataclasses.replace(envelope, doc_hash=other)
    with pytest.raises(DocumentError) as refused:
        open_document(relabelled, "bigauto", BIGAUTO.seed, other)
    assert refused.value.code == "DOCUMENT_TAMPERED"


def test_a_document_not_the_ledgers_is_refused() -> None:
    envelope, _ = sealed()
    with pytest.raises(DocumentError) as refused:
        open_document(envelope, "bigauto", BIGAUTO.seed, sha256(b"what the ledger holds"))
    assert refused.value.code == "DOCUMENT_HASH_MISMATCH"


def test_envelope_round_trips_through_the_codec_and_its_shape_is_checked() -> None:
    envelope, _ = sealed()
    assert Envelope.decode(envelope.encode()) == envelope
    value = envelope.to_value()
    with pytest.raises(DocumentError) as too_large:
        envelope_from_value(value, max_document_bytes=len(PDF) - 1)
    assert too_large.value.code == "DOCUMENT_TOO_LARGE"
    assert envelope_from_value(value, max_document_bytes=len(PDF)) == envelope
    for broken in (
        {**value, "nonce": b"short"},
        {**value, "ciphertext": b"x" * (TAG_SIZE - 1)},
        {**value, "keys": [{"org": "bigauto", "public": b"k" * 32, "sealed": b"s"}]},
        {**value, "keys": [value["keys"][0], value["keys"][0]]},  # type: ignore[index]
        {**value, "extra": 1},
    ):
        with pytest.raises(DocumentError) as refused:
            envelope_from_value(broken, max_document_bytes=len(PDF))
        assert refused.value.code == "BAD_ENVELOPE"
