"""The cover leg of a PvP payment as pacs.009.001.09 COV.

In a PvP payment (`payments.send_fx`) the dealer bank takes the payer's currency and pays the
quote currency into the beneficiary's account at its bank: that interbank movement is the
cover of the customer credit transfer the pacs.008 describes. Its pacs.009 COV goes from the
dealer (debtor, instructing agent) to the beneficiary's bank (creditor, instructed agent), for
the credited amount, with the same end-to-end id and UETR as the pacs.008, and carries the
customer transfer it covers (`UndrlygCstmrCdtTrf`: debtor, its account and agent, the dealer as
intermediary, creditor agent, creditor, its account, remittance and the instructed amount).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from contracts.exports.iso20022 import (
    NOT_PROVIDED,
    PACS009_NS,
    Builder,
    Directory,
    iso_datetime,
    serialize,
    short_id,
    uetr,
    xml_text,
)


class NoCover(ValueError):
    """The payment has no cover leg: it is same-currency, with no dealer between banks."""


def cover_parties(payment: dict[str, Any], directory: Directory) -> tuple[str, str, str]:
    """(dealer, debtor agent, creditor agent) of an FX payment; NoCover for any other."""
    if payment.get("kind") != "fx" or not payment.get("dealer"):
        raise NoCover("a same-currency payment has no cover leg between banks")
    debtor_agent = directory.agent_of(str(payment["payer"]), str(payment["currency"]))
    creditor_agent = directory.agent_of(str(payment["payee"]), str(payment["credit_currency"]))
    return str(payment["dealer"]), debtor_agent, creditor_agent


def pacs009_cover(payment: dict[str, Any], directory: Directory) -> bytes:
    """The cover of a settled PvP payment (pacs.009.001.09 COV); NoCover for a same-currency
    payment."""
    dealer, debtor_agent, creditor_agent = cover_parties(payment, directory)
    b = Builder(PACS009_NS)
    root = etree.Element(f"{{{PACS009_NS}}}Document", nsmap={None: PACS009_NS})
    message = b.el(root, "FICdtTrf")
    payment_id = str(payment["id"])
    header = b.el(message, "GrpHdr")
    b.el(header, "MsgId", short_id("COV-" + payment_id))
    b.el(header, "CreDtTm", iso_datetime(int(payment["time_ms"])))
    b.el(header, "NbOfTxs", "1")
    b.settlement(header)

    tx = b.el(message, "CdtTrfTxInf")
    ids = b.el(tx, "PmtId")
    b.el(ids, "InstrId", short_id("COV-" + payment_id))
    b.el(ids, "EndToEndId", short_id(xml_text(payment["end_to_end_id"])) or NOT_PROVIDED)
    b.el(ids, "TxId", short_id(str(payment["tx"])))
    b.el(ids, "UETR", uetr(payment_id))
    credit_code = str(payment["credit_currency"])
    b.amount(tx, "IntrBkSttlmAmt", int(payment["credit_amount"]), credit_code, directory)
    b.el(tx, "IntrBkSttlmDt", str(payment["date"]))
    b.agent(tx, "InstgAgt", dealer, directory)
    b.agent(tx, "InstdAgt", creditor_agent, directory)
    b.agent(tx, "Dbtr", dealer, directory)
    b.agent(tx, "CdtrAgt", creditor_agent, directory)
    b.agent(tx, "Cdtr", creditor_agent, directory)
    _underlying(b, tx, payment, (dealer, debtor_agent, creditor_agent), directory)
    return serialize(root)


def _underlying(
    b: Builder,
    tx: etree._Element,
    payment: dict[str, Any],
    banks: tuple[str, str, str],
    directory: Directory,
) -> None:
    """The customer credit transfer the cover pays for, in the schema's order."""
    dealer, debtor_agent, creditor_agent = banks
    payer, payee = str(payment["payer"]), str(payment["payee"])
    originator = dict(payment.get("originator") or {})
    beneficiary = dict(payment.get("beneficiary") or {})
    under = b.el(tx, "UndrlygCstmrCdtTrf")
    b.party(under, "Dbtr", payer, originator, directory)
    b.account(under, "DbtrAcct", payer, originator)
    b.agent(under, "DbtrAgt", debtor_agent, directory)
    b.agent(under, "IntrmyAgt1", dealer, directory)
    b.agent(under, "CdtrAgt", creditor_agent, directory)
    b.party(under, "Cdtr", payee, beneficiary, directory)
    b.account(under, "CdtrAcct", payee, beneficiary)
    remittance = xml_text(payment.get("remittance") or "", 140)
    if remittance:
        b.el(b.el(under, "RmtInf"), "Ustrd", remittance)
    b.amount(under, "InstdAmt", int(payment["amount"]), str(payment["currency"]), directory)
