"""Exported pacs.008/pacs.009 messages validate against the official ISO 20022 schemas.

The schemas live in the shared folder beside the repository (../shared/data/iso20022, or
$TALLY_SHARED/data/iso20022); the test skips, saying so, only when they are absent.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from lxml import etree

from contracts.exports.iso20022 import (
    PACS008_NS,
    Directory,
    format_amount,
    format_rate,
    pacs008,
    pacs009_netting,
    pseudo_bic,
    uetr,
    xml_text,
)
from ledger import codec
from ledger.chain import P_STATE
from node.api.context import STORE
from node.api.payments import ROUTES
from tests.support.contract_chain import ContractChain
from tests.support.xborder_chain import HOUR_MS, fx_args, pay_args

REPO = Path(__file__).resolve().parents[2]
NS = {"p": PACS008_NS}


def schema_dir() -> Path:
    shared = os.environ.get("TALLY_SHARED")
    base = Path(shared) if shared else REPO.parent / "shared"
    return base / "data" / "iso20022"


@lru_cache(maxsize=2)
def schema(name: str) -> etree.XMLSchema:
    path = schema_dir() / f"{name}.xsd"
    if not path.is_file():
        message = f"official ISO 20022 schema {path} is absent (set TALLY_SHARED)"
        if os.environ.get("CI"):  # CI lays shared/ beside the clone: missing there is a failure
            pytest.fail(message)
        pytest.skip(message)
    return etree.XMLSchema(etree.parse(str(path)))


@lru_cache(maxsize=2)
def second_schema(name: str) -> Any:
    """xmlschema as a second, independent validator of the same official XSD."""
    xmlschema = pytest.importorskip("xmlschema")
    return xmlschema.XMLSchema(str(schema_dir() / f"{name}.xsd"))


def assert_valid(xml: bytes, name: str) -> etree._Element:
    document = etree.fromstring(xml)
    xsd = schema(name)
    assert xsd.validate(document), xsd.error_log
    second_schema(name).validate(xml.decode())
    return document


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


def directory(chain: ContractChain) -> Directory:
    orgs = {k.removeprefix("reg/org/"): v for k, v in chain.state_items("reg/org/").items()}
    currencies = {k.removeprefix("reg/cur/"): v for k, v in chain.state_items("reg/cur/").items()}
    return Directory(orgs, currencies)


def payment(chain: ContractChain, payment_id: str) -> dict[str, Any]:
    return dict(chain.state("pay/rec/" + payment_id))


def text(document: etree._Element, path: str) -> str:
    found = document.find(path, NS)
    assert found is not None, path
    return str(found.text)


@pytest.mark.parametrize(
    ("code", "amount", "shown"),
    [("JPY", 1_234_567, "1234567"), ("EUR", 5_000_000, "50000.00"), ("KWD", 12_345, "12.345")],
)
def test_same_currency_payment_exports_valid_pacs008(
    chain: ContractChain, code: str, amount: int, shown: str
) -> None:
    chain.fund("acme-steel", code, amount)
    result = chain.call(
        "acme-steel",
        "payments",
        "send",
        pay_args(currency=code, amount=amount, beneficiary={"account": "DE89370400440532013000"}),
    )
    record = payment(chain, result["id"])
    document = assert_valid(pacs008(record, directory(chain)), "pacs.008.001.09")
    tx = "p:FIToFICstmrCdtTrf/p:CdtTrfTxInf/"
    settled = document.find(tx + "p:IntrBkSttlmAmt", NS)
    assert settled is not None
    assert (settled.text, settled.get("Ccy")) == (shown, code)
    assert text(document, tx + "p:PmtId/p:EndToEndId") == record["end_to_end_id"]
    assert text(document, tx + "p:Purp/p:Cd") == "GDDS"
    assert text(document, tx + "p:RmtInf/p:Ustrd").startswith("Invoice RP-2026-0042")
    assert text(document, tx + "p:Dbtr/p:Nm") == "Acme Steel Co., Ltd."
    assert text(document, tx + "p:Cdtr/p:Nm") == "Rhein Parts"  # from the registry
    assert text(document, tx + "p:CdtrAcct/p:Id/p:IBAN") == "DE89370400440532013000"
    issuer = {"JPY": "bank-d", "EUR": "bank-b", "KWD": "bank-d"}[code]
    assert text(document, tx + "p:DbtrAgt/p:FinInstnId/p:Othr/p:Id") == issuer


@pytest.mark.parametrize(
    ("base", "quote", "rate", "base_amount", "dealer"),
    [
        ("CNY", "EUR", 12_820_513, 39_000_000, "bank-c"),  # 2 -> 2 decimals
        ("JPY", "KWD", 205_432, 123_457, "bank-d"),  # 0 -> 3
        ("KWD", "JPY", 48_612_345_678, 123_456, "bank-d"),  # 3 -> 0
    ],
)
def test_fx_payment_exports_valid_pacs008_with_rate_and_both_amounts(
    chain: ContractChain, base: str, quote: str, rate: int, base_amount: int, dealer: str
) -> None:
    chain.fund("acme-steel", base, base_amount)
    chain.fund(dealer, quote, 10**12)
    args = {
        "base": base,
        "quote": quote,
        "rate": rate,
        "max_base": base_amount,
        "expires_ms": chain.now_ms + HOUR_MS,
    }
    quote_id = chain.call(dealer, "fx", "quote", args)["id"]
    result = chain.call("acme-steel", "payments", "send_fx", fx_args(quote_id, base_amount))
    record = payment(chain, result["id"])
    document = assert_valid(pacs008(record, directory(chain)), "pacs.008.001.09")
    tx = "p:FIToFICstmrCdtTrf/p:CdtTrfTxInf/"
    decimals = {"CNY": 2, "EUR": 2, "JPY": 0, "KWD": 3}
    assert text(document, tx + "p:IntrBkSttlmAmt") == format_amount(
        result["credit"], decimals[quote]
    )
    assert text(document, tx + "p:InstdAmt") == format_amount(base_amount, decimals[base])
    assert text(document, tx + "p:IntrmyAgt1/p:FinInstnId/p:Othr/p:Id") == dealer
    assert text(document, tx + "p:XchgRate") == format_rate(rate)


def test_netting_settlement_exports_valid_pacs009(chain: ContractChain) -> None:
    for bank in ("bank-a", "bank-b"):
        chain.fund(bank, "KWD", 10_000)
    args = {
        "currency": "KWD",
        "participants": ["bank-a", "bank-b", "bank-c"],
        "close_ms": chain.now_ms + HOUR_MS,
    }
    window = chain.call("bank-a", "netting", "open", args)["id"]
    chain.call("bank-a", "netting", "submit", {"window": window, "to": "bank-c", "amount": 1_234})
    chain.call("bank-b", "netting", "submit", {"window": window, "to": "bank-c", "amount": 5})
    chain.advance_time(ms=HOUR_MS + 1)
    chain.call("bank-c", "netting", "settle", {"window": window})
    record = chain.state("net/win/" + window)
    document = assert_valid(pacs009_netting(record, directory(chain)), "pacs.009.001.09")
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pacs.009.001.09"}
    amounts = [e.text for e in document.findall("p:FICdtTrf/p:CdtTrfTxInf/p:IntrBkSttlmAmt", ns)]
    assert amounts == ["1.234", "0.005"]


def test_unsettled_window_has_nothing_to_export() -> None:
    with pytest.raises(ValueError):
        pacs009_netting({"status": "open", "transfers": []}, Directory({}, {}))


def test_formatting_helpers() -> None:
    assert format_amount(5, 0) == "5"
    assert format_amount(5, 3) == "0.005"
    assert format_amount(100, 2) == "1.00"
    assert format_rate(12_820_513) == "0.12820513"
    assert format_rate(100_000_000) == "1"
    assert format_rate(48_612_345_678) == "486.12345678"
    assert format_rate(123_456_789_012_345_678) == "1234567890.1"  # truncated to 11 digits
    bic = pseudo_bic({"id": "bank-a", "jurisdiction": "CN"})
    assert len(bic) == 8 and bic[4:] == "CNT0" and bic.isalnum() and bic.isupper()
    assert pseudo_bic({"id": "bank-b", "jurisdiction": "CN"}) != bic
    assert uetr("x") == uetr("x") and uetr("x")[14] == "4"


# -- records from before the text rule (issue 12, finding 4) -----------------------------------

# Text the contracts refuse today but a chain written earlier may hold: noncharacters, C0 and C1
# controls, a NUL, and fields longer or of another form than their ISO 20022 element allows.
UNSTORABLE = "\uffff\ufffe\ufdd0\x00\x0b\x1f\x7f\x85\U0010ffff"


def _write_state(chain: ContractChain, key: str, value: Any) -> None:
    """Put `value` at `key` as an earlier release could have: straight into the store."""
    chain.kv.put(P_STATE + key.encode(), codec.encode(value))
    chain.store.cache.clear()  # written behind the store's back: its read cache forgets


def _record_from_before(chain: ContractChain) -> dict[str, Any]:
    chain.fund("acme-steel", "EUR", 1_000)
    paid = chain.call("acme-steel", "payments", "send", pay_args())
    record = payment(chain, paid["id"])
    bad = {field: f"x{UNSTORABLE}y" for field in ("name", "street", "town", "address")}
    record.update(
        id="ee" * 32,
        end_to_end_id=f"E2E{UNSTORABLE}" + "9" * 40,
        purpose=f"P{UNSTORABLE}",
        remittance=f"Invoice {UNSTORABLE} " + "r" * 200,
        originator={**bad, "country": "cn", "lei": f"L{UNSTORABLE}", "account": "A" * 50},
        beneficiary={"name": UNSTORABLE, "postcode": "1" * 30, "building": "\uffff"},
    )
    _write_state(chain, "pay/rec/" + record["id"], record)
    _write_state(chain, "reg/org/rhein-parts", {**chain.state("reg/org/rhein-parts"),
                                                 "name": f"Rhein{UNSTORABLE}Parts"})  # fmt: skip
    return record


def test_a_record_with_text_xml_cannot_carry_still_exports_valid_pacs008(
    chain: ContractChain,
) -> None:
    record = _record_from_before(chain)
    document = assert_valid(pacs008(record, directory(chain)), "pacs.008.001.09")
    tx = "p:FIToFICstmrCdtTrf/p:CdtTrfTxInf/"
    remittance = text(document, tx + "p:RmtInf/p:Ustrd")
    assert remittance.startswith("Invoice " + "\ufffd" * len(UNSTORABLE)) and len(remittance) == 140
    assert text(document, tx + "p:Dbtr/p:Nm") == "x" + "\ufffd" * len(UNSTORABLE) + "y"
    assert text(document, tx + "p:Cdtr/p:Nm") == "\ufffd" * len(UNSTORABLE)
    assert document.find(tx + "p:Dbtr/p:Id/p:OrgId/p:LEI", NS) is None  # not an LEI: left out
    assert document.find(tx + "p:Dbtr/p:PstlAdr/p:Ctry", NS) is None  # not a country code
    assert len(text(document, tx + "p:PmtId/p:EndToEndId")) <= 35


def test_the_iso_route_answers_such_a_record_with_xml_never_5xx(chain: ContractChain) -> None:
    """The finding: `GET /v1/payments/ID/iso20022` answered 500 (and the explorer 502)."""
    record = _record_from_before(chain)

    async def fetch() -> tuple[int, bytes]:
        app = web.Application()
        app[STORE] = chain.store
        app.add_routes(ROUTES)
        async with TestClient(TestServer(app)) as client:
            response = await client.get(f"/v1/payments/{record['id']}/iso20022")
            return response.status, await response.read()

    status, body = asyncio.run(fetch())
    assert status == 200, body[:400]
    assert_valid(body, "pacs.008.001.09")


@pytest.mark.parametrize("character", list(UNSTORABLE))
def test_xml_text_replaces_exactly_what_contracts_refuse(character: str) -> None:
    assert xml_text(f"a{character}b") == "a\ufffdb"
    assert xml_text("a\u00e9\u200b\U0001f600b", 3) == "a\u00e9\u200b"  # kept, then cut
