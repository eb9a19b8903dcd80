"""What `tally bench` submits: funding for every sender and pre-signed cash transfers.

Signing is done before the clock starts, so the bench measures the network, not the client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger.crypto import Ed25519Key
from ledger.genesis import load_genesis
from ledger.types import SignedTx
from node.ops.bench_net import BenchError
from wallet.txbuilder import build_tx

FUND_AMOUNT = 10_000_000_000  # minor units per organization: far more than it will send

Progress = Callable[[str, int, int], None]  # phase, done, total


def no_progress(phase: str, done: int, total: int) -> None:
    pass


@dataclass(frozen=True, slots=True)
class Workload:
    funding: list[str]  # hex signed txs: the issuer bank funds every sender
    transfers: list[str]  # hex signed txs, in submission order
    transfer_ids: list[str]
    orgs: int


def _operator(org: dict[str, Any]) -> Ed25519Key | None:
    for key in org.get("keys", []):
        if key.get("role") == "operator" and key.get("seed"):
            return Ed25519Key.from_seed(bytes.fromhex(key["seed"]))
    return None


def _senders(info: dict[str, Any]) -> list[tuple[str, Ed25519Key]]:
    """(org id, operator key) of every non-bank organization whose seed localnet.json holds."""
    senders = [
        (org["id"], key)
        for org in info["orgs"]
        if org["kind"] != "bank" and (key := _operator(org)) is not None
    ]
    if len(senders) < 2:
        raise BenchError("TOO_FEW_ORGS", "the localnet needs two non-bank orgs")
    return senders


def _payee(senders: list[tuple[str, Ed25519Key]], index: int) -> str:
    """The receiver of transfer `index`: spread over every sender, never the payer itself."""
    count = len(senders)
    payer_id = senders[index % count][0]
    payee_id = senders[(index // count + 1 + index) % count][0]
    if payee_id == payer_id:
        payee_id = senders[(index + 1) % count][0]
    return payee_id


def build_workload(
    info: dict[str, Any], txs: int, height: int, progress: Progress = no_progress
) -> Workload:
    """Pre-sign funding and `txs` CNY transfers among the localnet's non-bank organizations."""
    genesis = load_genesis(info["genesis"])
    currency = genesis.currency("CNY") or genesis.currencies[0]
    issuer_id = currency.issuers[0]
    issuer = _operator({org["id"]: org for org in info["orgs"]}.get(issuer_id, {}))
    if issuer is None:
        raise BenchError("NO_ISSUER_KEY", f"localnet.json has no key of {issuer_id}")
    senders = _senders(info)
    valid_until = height + genesis.params["max_tx_validity"] - 10

    def cash(key: Ed25519Key, method: str, to: str, amount: int) -> SignedTx:
        args = {"currency": currency.code, "to": to, "amount": amount}
        return build_tx(key, genesis.chain, "cash", method, args, valid_until)

    funding = [cash(issuer, "issue", org_id, FUND_AMOUNT) for org_id, _ in senders]
    transfers = []
    for index in range(txs):
        payer = senders[index % len(senders)][1]
        transfers.append(cash(payer, "transfer", _payee(senders, index), 1))
        if index % 1000 == 999:
            progress("signing", index + 1, txs)
    progress("signing", txs, txs)
    return Workload(
        funding=[tx.encode().hex() for tx in funding],
        transfers=[tx.encode().hex() for tx in transfers],
        transfer_ids=[tx.id.hex() for tx in transfers],
        orgs=len(senders),
    )
