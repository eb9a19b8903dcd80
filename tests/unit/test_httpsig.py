"""The RFC 9421 profile of DESIGN.md §9: what holds, what is refused, and with which code."""

from __future__ import annotations

import datetime
import time

import pytest

from ledger.crypto import Ed25519Key
from ledger.httpsig import (
    DIGEST_MISMATCH,
    STALE_SIGNATURE,
    UNAUTHENTICATED,
    SignatureRefused,
    content_digest,
    sign_headers,
    verify_request,
)
from tests.support.rfc9421 import signed_request
from wallet.request_signing import RequestSigner

KEY = Ed25519Key.from_seed(bytes(range(32)))
BODY = b'{"txs": ["00"]}'
NOW = 1_800_000_000


def _signed(method: str = "POST", target: str = "/v1/txs?wait=commit", body: bytes = BODY):
    return sign_headers(KEY.public, KEY.sign, method, target, body, NOW)


def _refusal(method: str, target: str, headers: dict[str, str], body: bytes, now: float) -> str:
    with pytest.raises(SignatureRefused) as refused:
        verify_request(method, target, headers, body, now)
    return refused.value.code


def test_own_signature_holds_and_names_the_key() -> None:
    signed = verify_request("POST", "/v1/txs?wait=commit", _signed(), BODY, NOW + 10)
    assert signed.public == KEY.public and signed.created == NOW


def test_independent_implementation_signature_holds() -> None:
    url = "http://node:8080/v1/receivables?debtor=bigauto&limit=5"
    prepared = signed_request(KEY, "GET", url)
    signed = verify_request(
        "GET", "/v1/receivables?debtor=bigauto&limit=5", prepared.headers, b"", time.time()
    )
    assert signed.public == KEY.public


def test_rfc_9530_digest_of_the_empty_body() -> None:
    assert content_digest(b"") == "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"


@pytest.mark.parametrize(
    ("method", "target"),
    [("GET", "/v1/txs?wait=commit"), ("POST", "/v1/txs"), ("POST", "/v1/txs?wait=none")],
)
def test_signature_binds_method_path_and_query(method: str, target: str) -> None:
    assert _refusal(method, target, _signed(), BODY, NOW) == UNAUTHENTICATED


def test_another_body_under_the_same_headers_is_a_digest_mismatch() -> None:
    assert _refusal("POST", "/v1/txs?wait=commit", _signed(), b"{}", NOW) == DIGEST_MISMATCH


def test_a_digest_swapped_to_match_another_body_breaks_the_signature() -> None:
    headers = {**_signed(), "Content-Digest": content_digest(b"{}")}
    assert _refusal("POST", "/v1/txs?wait=commit", headers, b"{}", NOW) == UNAUTHENTICATED


@pytest.mark.parametrize("skew", [301, -301, 86_400])
def test_created_far_from_the_clock_is_stale(skew: int) -> None:
    assert _refusal("POST", "/v1/txs?wait=commit", _signed(), BODY, NOW + skew) == STALE_SIGNATURE


def test_stale_independent_signature_is_stale() -> None:
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=900)
    prepared = signed_request(KEY, "GET", "http://node/v1/status", created=old)
    code = _refusal("GET", "/v1/status", dict(prepared.headers), b"", time.time())
    assert code == STALE_SIGNATURE


def test_another_key_in_keyid_does_not_verify() -> None:
    other = Ed25519Key.from_seed(bytes(32))
    headers = _signed()
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        KEY.public.hex(), other.public.hex()
    )
    assert _refusal("POST", "/v1/txs?wait=commit", headers, BODY, NOW) == UNAUTHENTICATED


@pytest.mark.parametrize(
    "change",
    [
        {"Signature": None},
        {"Signature-Input": None},
        {"Content-Digest": None},
        {"Signature": "sig1=:not base64!:"},
        {"Signature": "sig2=:AAAA:"},
        {"Signature": "sig1=" + "A" * 2000},
        {"Signature-Input": 'sig1=("@method" "@path");created=1;keyid="00";alg="ed25519"'},
        {"Signature-Input": 'sig1=("@method" "@path" "@query" "content-digest");created=1'},
        {"Signature-Input": "sig1=garbage"},
        {"Signature-Input": "(((("},
        {"Content-Digest": "sha-512=:AAAA:"},
        {"Content-Digest": "sha-256=AAAA"},
    ],
)
def test_malformed_headers_are_unauthenticated(change: dict[str, str | None]) -> None:
    headers: dict[str, str] = {}
    for name, value in {**_signed(), **change}.items():
        if value is not None:
            headers[name] = value
    assert _refusal("POST", "/v1/txs?wait=commit", headers, BODY, NOW) == UNAUTHENTICATED


def test_another_algorithm_is_refused() -> None:
    headers = _signed()
    headers["Signature-Input"] = headers["Signature-Input"].replace("ed25519", "rsa-pss-sha512")
    assert _refusal("POST", "/v1/txs?wait=commit", headers, BODY, NOW) == UNAUTHENTICATED


def test_sdk_signer_signs_the_path_and_query_of_the_url() -> None:
    signer = RequestSigner.of(KEY)
    headers = signer.headers("GET", "https://node:8443/v1/events?after=7&limit=2")
    assert verify_request("GET", "/v1/events?after=7&limit=2", headers, b"", time.time())
