"""ISO 20022 export: a settled payment as pacs.008.001.09, a netting settlement as pacs.009.

Pure functions from state records to XML bytes, so they test without a node. The mapping is
documented in docs/cross-border.md; in short: parties from the payment's originator/beneficiary
details, agents are banks (a party that is a bank acts as its own agent, otherwise the issuing
bank of the currency it pays or receives in), each bank identified by a deterministic
pseudo-BIC plus its Tallychain org id under the proprietary scheme "TALLY".

The export never fails on what the ledger holds. Contracts refuse text that XML cannot carry
(contracts/args.py), but a record written before that rule may hold a control character or a
noncharacter: every text goes through `xml_text`, which puts U+FFFD in its place, and each
field is cut to its schema length, so such a record still exports as a valid message.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from contracts.args import forbidden_character
from contracts.wording import decimal_amount, moment
from contracts.xborder_rules import PARTY_FIELDS

PACS008_NS = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09"
PACS009_NS = "urn:iso:std:iso:20022:tech:xsd:pacs.009.001.09"
SCHEME = "TALLY"
CLEARING_SYSTEM = "TALLYCHAIN"
RATE_DECIMALS = 8
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}$")
_PURPOSE_CODE = re.compile(r"^[A-Z]{4}$")
_LEI = re.compile(r"^[A-Z0-9]{18}[0-9]{2}$")
NOT_PROVIDED = "NOTPROVIDED"  # the ISO 20022 placeholder for an absent EndToEndId
_ADDRESS_FIELDS = (  # in the schema's order (PostalAddress24)
    ("street", "StrtNm"),
    ("building", "BldgNb"),
    ("postcode", "PstCd"),
    ("town", "TwnNm"),
    ("country", "Ctry"),
    ("address", "AdrLine"),
)


@dataclass(frozen=True, slots=True)
class Directory:
    """What the export needs from the registry: org records and currency records by id."""

    orgs: dict[str, dict[str, Any]]
    currencies: dict[str, dict[str, Any]]

    def decimals(self, code: str) -> int:
        return int(self.currencies[code]["decimals"])

    def org(self, org_id: str) -> dict[str, Any]:
        return self.orgs.get(org_id) or {"id": org_id, "name": org_id, "kind": "enterprise"}

    def agent_of(self, org_id: str, code: str) -> str:
        """The bank that holds `org_id`'s money in `code`: itself, or the currency's issuer."""
        issuers = self.currencies[code].get("issuers") or []
        return account_servicer(org_id, self.org(org_id).get("kind"), issuers)


def account_servicer(org_id: str, kind: str | None, issuers: list[str]) -> str:
    """The bank that holds an organization's money in a currency with `issuers`: a bank is its
    own; anyone else's is the currency's first issuer (by id)."""
    if kind == "bank" or not issuers:
        return org_id
    return str(sorted(issuers)[0])


# -- formatting ------------------------------------------------------------------------------


def xml_text(value: Any, limit: int | None = None) -> str:
    """`value` as text XML can carry: a character contracts refuse becomes U+FFFD (one for
    one, so lengths hold), then the text is cut to `limit` characters (a MaxNNText)."""
    text = value if isinstance(value, str) else str(value)
    if forbidden_character(text) is not None:
        text = "".join("\ufffd" if forbidden_character(ch) else ch for ch in text)
    return text if limit is None else text[:limit]


def format_amount(minor: int, decimals: int) -> str:
    """Minor units as the currency's decimal amount: (12345, 2) -> '123.45', (5, 0) -> '5'."""
    return decimal_amount(minor, decimals)  # the messages' formatter, without thousands groups


def format_rate(rate: int) -> str | None:
    """A ×10^8 rate as a BaseOneRate (≤ 11 digits, ≤ 10 after the point), truncated to fit."""
    whole, fraction = divmod(rate, 10**RATE_DECIMALS)
    digits = f"{fraction:0{RATE_DECIMALS}d}".rstrip("0")
    room = 11 - len(str(whole))
    if room < 0:
        return None
    digits = digits[:room].rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def pseudo_bic(org: dict[str, Any]) -> str:
    """A deterministic, schema-valid BIC for a bank: 4 letters from its id's hash, its
    country (XX if unknown) and location 'T0' (a second character '0' marks a test BIC)."""
    if isinstance(org.get("bic"), str):
        return str(org["bic"])
    digest = hashlib.sha256(str(org["id"]).encode()).digest()
    letters = "".join(chr(ord("A") + b % 26) for b in digest[:4])
    country = str(org.get("jurisdiction") or "")
    return letters + (country if _COUNTRY.match(country) else "XX") + "T0"


def short_id(value: str, limit: int = 35) -> str:
    """Fit an id into a MaxNNText: unchanged when short, else a prefix plus a hash."""
    if len(value) <= limit:
        return value
    return value[: limit - 9] + "-" + hashlib.sha256(value.encode()).hexdigest()[:8]


def uetr(seed: str) -> str:
    """A UUIDv4-shaped end-to-end reference derived from a payment id (deterministic)."""
    raw = bytearray(hashlib.sha256(("uetr/" + seed).encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def iso_datetime(time_ms: int) -> str:
    """Block time as an ISODateTime in UTC, the same form contract messages use."""
    return moment(time_ms)


# -- building blocks -------------------------------------------------------------------------


class Builder:
    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def el(self, parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> Any:
        child = etree.SubElement(parent, f"{{{self.ns}}}{tag}", attrs)
        if text is not None:
            child.text = xml_text(text)
        return child

    def amount(self, parent: etree._Element, tag: str, minor: int, code: str, d: Directory) -> None:
        self.el(parent, tag, format_amount(minor, d.decimals(code)), Ccy=code)

    def address(self, parent: etree._Element, details: dict[str, str]) -> None:
        fields = [(tag, party_field(details, field)) for field, tag in _ADDRESS_FIELDS]
        present = [(tag, text) for tag, text in fields if text]
        if not present:
            return
        address = self.el(parent, "PstlAdr")
        for tag, text in present:
            self.el(address, tag, text)

    def agent(self, parent: etree._Element, tag: str, org_id: str, d: Directory) -> None:
        org = d.org(org_id)
        fin = self.el(self.el(parent, tag), "FinInstnId")
        self.el(fin, "BICFI", pseudo_bic(org))
        self.el(fin, "Nm", xml_text(org.get("name") or org_id, 140))
        country = str(org.get("jurisdiction") or "")
        if _COUNTRY.match(country):
            self.el(self.el(fin, "PstlAdr"), "Ctry", country)
        other = self.el(fin, "Othr")
        self.el(other, "Id", short_id(org_id))
        self.el(self.el(other, "SchmeNm"), "Prtry", SCHEME)

    def party(
        self, parent: etree._Element, tag: str, org_id: str, details: dict[str, str], d: Directory
    ) -> None:
        org = d.org(org_id)
        node = self.el(parent, tag)
        name = party_field(details, "name") or xml_text(org.get("name") or org_id, 140)
        self.el(node, "Nm", name)
        self.address(node, details)
        org_ident = self.el(self.el(node, "Id"), "OrgId")
        if org.get("kind") == "bank":
            self.el(org_ident, "AnyBIC", pseudo_bic(org))
        lei = party_field(details, "lei")
        if lei:
            self.el(org_ident, "LEI", lei)
        other = self.el(org_ident, "Othr")
        self.el(other, "Id", short_id(org_id))
        self.el(self.el(other, "SchmeNm"), "Prtry", SCHEME)

    def account(
        self, parent: etree._Element, tag: str, org_id: str, details: dict[str, str]
    ) -> None:
        ident = self.el(self.el(parent, tag), "Id")
        account = party_field(details, "account")
        if account and _IBAN.match(account):
            self.el(ident, "IBAN", account)
            return
        other = self.el(ident, "Othr")
        self.el(other, "Id", account or short_id(org_id, 34))
        if not account:
            self.el(self.el(other, "SchmeNm"), "Prtry", SCHEME)

    def settlement(self, header: etree._Element) -> None:
        info = self.el(header, "SttlmInf")
        self.el(info, "SttlmMtd", "CLRG")
        self.el(self.el(info, "ClrSys"), "Prtry", CLEARING_SYSTEM)


def party_field(details: dict[str, Any], field: str) -> str:
    """A party field fit for its element: cut to its length, "" when absent or when a field
    with a fixed form (country, LEI) does not have it."""
    text = xml_text(details.get(field) or "", PARTY_FIELDS[field]).strip()
    if field == "country" and not _COUNTRY.match(text):
        return ""
    if field == "lei" and not _LEI.match(text):
        return ""
    return text


def serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


# -- messages --------------------------------------------------------------------------------


def pacs008(payment: dict[str, Any], directory: Directory) -> bytes:
    """A settled payment as an FI-to-FI customer credit transfer (pacs.008.001.09)."""
    b = Builder(PACS008_NS)
    root = etree.Element(f"{{{PACS008_NS}}}Document", nsmap={None: PACS008_NS})
    transfer = b.el(root, "FIToFICstmrCdtTrf")
    payer, payee = str(payment["payer"]), str(payment["payee"])
    debit_code, credit_code = str(payment["currency"]), str(payment["credit_currency"])
    debtor_agent = directory.agent_of(payer, debit_code)
    creditor_agent = directory.agent_of(payee, credit_code)

    header = b.el(transfer, "GrpHdr")
    b.el(header, "MsgId", short_id(str(payment["id"])))
    b.el(header, "CreDtTm", iso_datetime(int(payment["time_ms"])))
    b.el(header, "NbOfTxs", "1")
    b.settlement(header)

    tx = b.el(transfer, "CdtTrfTxInf")
    ids = b.el(tx, "PmtId")
    b.el(ids, "InstrId", short_id(str(payment["id"])))
    b.el(ids, "EndToEndId", short_id(xml_text(payment["end_to_end_id"])) or NOT_PROVIDED)
    b.el(ids, "TxId", short_id(str(payment["tx"])))
    b.el(ids, "UETR", uetr(str(payment["id"])))
    b.amount(tx, "IntrBkSttlmAmt", int(payment["credit_amount"]), credit_code, directory)
    b.el(tx, "IntrBkSttlmDt", str(payment["date"]))
    if payment.get("kind") == "fx":
        b.amount(tx, "InstdAmt", int(payment["amount"]), debit_code, directory)
        rate = format_rate(int(payment["rate"]))
        if rate is not None:
            b.el(tx, "XchgRate", rate)
    b.el(tx, "ChrgBr", "SHAR")
    b.agent(tx, "InstgAgt", debtor_agent, directory)
    b.agent(tx, "InstdAgt", creditor_agent, directory)
    if payment.get("dealer"):
        b.agent(tx, "IntrmyAgt1", str(payment["dealer"]), directory)
    b.party(tx, "Dbtr", payer, dict(payment.get("originator") or {}), directory)
    b.account(tx, "DbtrAcct", payer, dict(payment.get("originator") or {}))
    b.agent(tx, "DbtrAgt", debtor_agent, directory)
    b.agent(tx, "CdtrAgt", creditor_agent, directory)
    b.party(tx, "Cdtr", payee, dict(payment.get("beneficiary") or {}), directory)
    b.account(tx, "CdtrAcct", payee, dict(payment.get("beneficiary") or {}))
    purpose = xml_text(payment.get("purpose") or "", 35)
    if purpose:
        b.el(b.el(tx, "Purp"), "Cd" if _PURPOSE_CODE.match(purpose) else "Prtry", purpose)
    remittance = xml_text(payment.get("remittance") or "", 140)
    if remittance:
        b.el(b.el(tx, "RmtInf"), "Ustrd", remittance)
    return serialize(root)


def pacs009_netting(window: dict[str, Any], directory: Directory) -> bytes:
    """A settled netting window's transfers as bank-to-bank credit transfers (pacs.009.001.09).

    Raises ValueError when there is nothing to export (not settled, or every position zero).
    """
    transfers = list(window.get("transfers") or [])
    if window.get("status") != "settled" or not transfers:
        raise ValueError("the window has no settlement transfers to export")
    code = str(window["currency"])
    b = Builder(PACS009_NS)
    root = etree.Element(f"{{{PACS009_NS}}}Document", nsmap={None: PACS009_NS})
    message = b.el(root, "FICdtTrf")
    header = b.el(message, "GrpHdr")
    b.el(header, "MsgId", short_id("NET-" + str(window["id"])))
    b.el(header, "CreDtTm", iso_datetime(int(window["settled_ms"])))
    b.el(header, "NbOfTxs", str(len(transfers)))
    total = sum(int(t["amount"]) for t in transfers)
    b.amount(header, "TtlIntrBkSttlmAmt", total, code, directory)
    b.el(header, "IntrBkSttlmDt", str(window["settled_date"]))
    b.settlement(header)
    for index, leg in enumerate(transfers):
        reference = f"NET-{str(window['id'])[:24]}-{index}"
        tx = b.el(message, "CdtTrfTxInf")
        ids = b.el(tx, "PmtId")
        b.el(ids, "InstrId", reference)
        b.el(ids, "EndToEndId", reference)
        b.el(ids, "TxId", short_id(str(window["settled_tx"])))
        b.el(ids, "UETR", uetr(f"{window['id']}/{index}"))
        b.amount(tx, "IntrBkSttlmAmt", int(leg["amount"]), code, directory)
        b.agent(tx, "Dbtr", str(leg["from"]), directory)
        b.agent(tx, "Cdtr", str(leg["to"]), directory)
        b.el(
            b.el(tx, "RmtInf"),
            "Ustrd",
            f"Multilateral net settlement, window {window['id']}"[:140],
        )
    return serialize(root)
