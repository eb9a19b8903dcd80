"""The document routes over a real committed store (no node process): an envelope is kept only
for an invoice's document and only with keys for readers the ledger records; a grant lets the
sharer add a key; every bad request has a stable code."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ledger.documents import Envelope, open_document, seal_document, wrap_key
from ledger.hashing import sha256
from node.api.context import STORE
from node.api.documents import ROUTES, envelope_json
from node.api.limits import ApiLimits
from node.api.reads import LIMITS
from tests.support.contract_chain import ContractChain
from tests.support.receivables_flow import issue
from tests.unit.test_payments_api import errors

PDF = b"%PDF-1.7 INV-1001"
LIMITS_SMALL = ApiLimits(max_document_bytes=1024, max_body_bytes=256 * 1024)


def calls(chain: ContractChain, requests: list[tuple[str, str, Any]]) -> list[tuple[int, Any]]:
    """Each (method, path, json body or None) against an app serving the document routes."""

    async def run() -> list[tuple[int, Any]]:
        app = web.Application(middlewares=[errors])
        app[STORE] = chain.store
        app[LIMITS] = LIMITS_SMALL
        app.add_routes(ROUTES)
        answers = []
        async with TestClient(TestServer(app)) as client:
            for method, path, body in requests:
                response = await client.request(method, path, json=body)
                answers.append((response.status, await response.json()))
        return answers

    return asyncio.run(run())


def call(chain: ContractChain, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return calls(chain, [(method, path, body)])[0]


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


def key_of(chain: ContractChain, org: str) -> Any:
    return chain.devnet.key(org, "operator")


def upload_body(chain: ContractChain, document: bytes, *readers: str) -> tuple[Any, bytes]:
    """The PUT body of `document` sealed for the operator key of each reader; the data key."""
    envelope, data_key = seal_document(
        document, {org: [key_of(chain, org).public] for org in readers}
    )
    body = envelope_json(envelope)
    del body["doc_hash"]
    return body, data_key


def test_an_uploaded_envelope_is_served_and_opens_for_each_reader(chain: ContractChain) -> None:
    issue(chain, doc_hash=sha256(PDF))
    body, _ = upload_body(chain, PDF, "acme-steel", "bigauto")
    path = f"/v1/documents/{sha256(PDF).hex()}"
    (put, again, got, access) = calls(
        chain,
        [
            ("PUT", path, body),
            ("PUT", path, body),
            ("GET", path, None),
            ("GET", path + "/access", None),
        ],
    )
    assert put == (201, {"doc_hash": sha256(PDF).hex(), "orgs": ["acme-steel", "bigauto"]})
    assert again[0] == 409 and again[1]["error"]["code"] == "DOCUMENT_EXISTS"
    assert got[0] == 200 and got[1]["access"]["creditor"] == "acme-steel"
    assert access[1]["stored_for"] == ["acme-steel", "bigauto"] and access[1]["shared"] == []
    assert chain.store.document(sha256(PDF)) is not None
    envelope = Envelope.decode(chain.store.document(sha256(PDF)) or b"")
    assert open_document(envelope, "bigauto", key_of(chain, "bigauto").seed, sha256(PDF)) == PDF


def test_a_key_for_an_organization_not_granted_is_refused_until_the_grant(
    chain: ContractChain,
) -> None:
    root = issue(chain, doc_hash=sha256(PDF))
    body, data_key = upload_body(chain, PDF, "acme-steel")
    path = f"/v1/documents/{sha256(PDF).hex()}"
    bank = wrap_key(data_key, "bank-a", key_of(chain, "bank-a").public)
    bank_json = {"org": "bank-a", "public": bank.public.hex(), "sealed": bank.sealed.hex()}
    status, answer = call(chain, "PUT", path, {**body, "keys": [*body["keys"], bank_json]})
    assert (status, answer["error"]["code"]) == (403, "NOT_ENTITLED")
    assert call(chain, "PUT", path, body)[0] == 201
    status, answer = call(chain, "POST", path + "/keys", {"keys": [bank_json]})
    assert (status, answer["error"]["code"]) == (403, "NOT_ENTITLED")
    chain.call("acme-steel", "receivables", "share_document", {"id": root, "org": "bank-a"})
    assert call(chain, "POST", path + "/keys", {"keys": [bank_json]})[0] == 200
    status, answer = call(chain, "POST", path + "/keys", {"keys": [bank_json]})
    assert (status, answer["error"]["code"]) == (409, "KEY_EXISTS")
    status, got = call(chain, "GET", path)
    assert [key["org"] for key in got["keys"]] == ["acme-steel", "bank-a"]
    assert got["access"]["shared"][0]["org"] == "bank-a"


def test_bad_uploads_get_stable_codes(chain: ContractChain) -> None:
    issue(chain, doc_hash=sha256(PDF))
    body, _ = upload_body(chain, PDF, "acme-steel")
    path = f"/v1/documents/{sha256(PDF).hex()}"
    unknown = f"/v1/documents/{sha256(b'no invoice').hex()}"
    wrong_key = {**body["keys"][0], "public": key_of(chain, "bank-a").public.hex()}
    big, _ = upload_body(chain, b"x" * 1025, "acme-steel")
    cases = [
        ("PUT", "/v1/documents/XYZ", body, 400, "BAD_ID"),
        ("PUT", unknown, body, 404, "NOT_FOUND"),
        ("GET", path, None, 404, "NOT_FOUND"),  # nothing uploaded yet
        ("PUT", path, {**body, "nonce": "zz"}, 400, "BAD_ENVELOPE"),
        ("PUT", path, {**body, "nonce": "00"}, 400, "BAD_ENVELOPE"),
        ("PUT", path, [1, 2], 400, "BAD_ENVELOPE"),
        ("PUT", path, {**body, "keys": [wrong_key]}, 400, "UNKNOWN_KEY"),
        ("PUT", path, {**body, "keys": "x"}, 400, "BAD_ENVELOPE"),
        ("PUT", path, big, 413, "DOCUMENT_TOO_LARGE"),
        ("POST", path + "/keys", {"keys": body["keys"]}, 404, "NOT_FOUND"),
        ("POST", path + "/keys", {"other": 1}, 400, "BAD_ENVELOPE"),
    ]
    answers = calls(chain, [(method, p, b) for method, p, b, _, _ in cases])
    for (method, p, _, status, code), (got_status, got) in zip(cases, answers, strict=True):
        assert (got_status, got["error"]["code"]) == (status, code), (method, p, got)
    assert chain.store.document(sha256(PDF)) is None


def test_a_config_whose_body_limit_cannot_carry_its_largest_document_is_refused() -> None:
    assert ApiLimits().check() == []
    problems = ApiLimits(max_document_bytes=8 * 1024 * 1024).check()
    assert problems == ["max_body_bytes must hold a document in hex: 2 x max_document_bytes"]
