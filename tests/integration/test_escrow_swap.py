"""An atomic swap between two Tallychain localnets with one secret, through `tally escrow`.

Chain 1 carries CNY, chain 2 EUR (two one-validator development consortia, each with its own
folder, ports and chain id). Alice (acme-steel) swaps CNY for Bob's (rhein-parts) EUR:

1. Alice draws a secret s and locks CNY for Bob on chain 1 under H = sha256(s), cancellable
   after two days;
2. Bob checks Alice's lock on chain 1 and locks EUR for Alice on chain 2 under the same H,
   cancellable after one day (earlier: Alice must reveal s while Bob can still use it);
3. Alice releases on chain 2 with s, which puts s on chain 2;
4. Bob reads s from chain 2 (the release tx's event) and releases on chain 1.

Both legs settle. In the second test Alice never reveals s: once each chain's clock is moved past
its leg's cancel time (`tally localnet time --advance`), each payer takes its money back and the
late release is refused; nothing moved. Every step of the swap is a real `tally` command; the
test's own extra checks (refusals, balances, funding) use the SDK.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.localnet_tools import signed_client
from wallet.client import TxFailed
from wallet.escrow import EscrowCalls, condition_of, new_secret
from wallet.localnet_keys import localnet_key

pytestmark = pytest.mark.slow

ALICE, BOB = "acme-steel", "rhein-parts"


def tally(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node", *args], capture_output=True, text=True, timeout=180
    )


def tally_json(*args: str) -> Any:
    """A `tally ... --json` command that must succeed; its answer."""
    done = tally(*args, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def refusal(call: Callable[[], Any]) -> str:
    """An SDK call that must fail on the chain; the contract's error code."""
    with pytest.raises(TxFailed) as failed:
        call()
    return failed.value.code


class Chain:
    """One localnet, and `tally` commands against it signed as an organization."""

    def __init__(self, net: dict[str, Any], currency: str) -> None:
        self.net = net
        self.dir = net["dir"]
        self.currency = currency
        self.client = signed_client(net["nodes"][0]["api"], timeout=30)

    def sdk(self, signer: str) -> EscrowCalls:
        """The SDK's calls, for the test's own extra checks (cheaper than a process each)."""
        return EscrowCalls(self.client, localnet_key(self.net, signer))

    def run(self, signer: str, *args: str) -> Any:
        return tally_json(*args, "--as", signer, "--localnet", self.dir)

    def show(self, escrow_id: str) -> Any:
        return tally_json("escrow", "show", escrow_id, "--localnet", self.dir)

    def record(self, escrow_id: str) -> dict[str, Any]:
        """The escrow through the SDK: for the test's own checks, not a step of the swap."""
        return self.client.escrow(escrow_id)

    def balance(self, org: str) -> int:
        return int(self.client.org(org)["balances"].get(self.currency, 0))

    def advance(self, days: int) -> None:
        tally_json("localnet", "time", "--dir", self.dir, "--advance", str(days))


@pytest.fixture(scope="module")
def chains(module_localnet: Any) -> Iterator[tuple[Chain, Chain]]:
    cny = Chain(module_localnet(nodes=1, chain="tally-cny"), "CNY")
    eur = Chain(module_localnet(nodes=1, chain="tally-eur"), "EUR")
    assert cny.client.chain() != eur.client.chain()
    funds = ((cny, "bank-a", ALICE, 10_000_000), (eur, "bank-b", BOB, 2_000_000))
    for chain, bank, org, amount in funds:
        issue = {"currency": chain.currency, "to": org, "amount": amount}
        chain.client.call(localnet_key(chain.net, bank), "cash", "issue", issue)
    yield cny, eur


def lock(chain: Chain, payer: str, payee: str, amount: str, condition: str, days: int) -> str:
    created = chain.run(
        payer, "escrow", "create", payee, amount, chain.currency,
        "--condition", condition, "--cancel-after", f"{days * 24 - 1}h",
    )  # fmt: skip
    escrow_id: str = created["id"]
    return escrow_id


def test_both_legs_settle_with_one_secret(chains: tuple[Chain, Chain]) -> None:
    cny, eur = chains
    before = (cny.balance(ALICE), cny.balance(BOB), eur.balance(ALICE), eur.balance(BOB))
    secret = tally_json("escrow", "secret")
    alice_leg = lock(cny, ALICE, BOB, "70,000.00", secret["condition"], days=2)

    seen = cny.show(alice_leg)  # Bob checks Alice's lock before locking his side
    assert (seen["payee"], seen["amount"], seen["status"]) == (BOB, 7_000_000, "open")
    assert seen["preimage"] is None
    bob_leg = lock(eur, BOB, ALICE, "9,000.00", seen["condition"], days=1)
    assert eur.record(bob_leg)["cancel_ms"] < seen["cancel_ms"]

    eur.run(ALICE, "escrow", "release", bob_leg, "--preimage", secret["preimage"])

    released = eur.show(bob_leg)  # Bob learns s from chain 2: the release tx carries it
    assert released["status"] == "released"
    tx = tally_json("tx", "show", released["closed_tx"], "--localnet", eur.dir)
    (event,) = [e for e in tx["receipt"]["events"] if e["type"] == "escrow_released"]
    revealed = event["preimage"]
    assert revealed == released["preimage"] == secret["preimage"]
    cny.run(BOB, "escrow", "release", alice_leg, "--preimage", revealed)

    assert cny.record(alice_leg)["status"] == "released"
    after = (cny.balance(ALICE), cny.balance(BOB), eur.balance(ALICE), eur.balance(BOB))
    assert after == (before[0] - 7_000_000, before[1] + 7_000_000,
                     before[2] + 900_000, before[3] - 900_000)  # fmt: skip
    listed = tally_json("escrow", "list", "--org", BOB, "--localnet", cny.dir)
    assert [(e["id"], e["roles"]) for e in listed][:1] == [(alice_leg, ["payee"])]


def test_when_the_secret_is_never_revealed_both_payers_refund_after_their_cancel_time(
    chains: tuple[Chain, Chain],
) -> None:
    cny, eur = chains
    before = (cny.balance(ALICE), cny.balance(BOB), eur.balance(ALICE), eur.balance(BOB))
    secret = new_secret()
    lock_hex = condition_of(secret).hex()
    alice_leg = lock(cny, ALICE, BOB, "20,000.00", lock_hex, days=2)
    bob_leg = lock(eur, BOB, ALICE, "2,500.00", lock_hex, days=1)
    assert cny.balance(ALICE) == before[0] - 2_000_000 and eur.balance(BOB) == before[3] - 250_000
    assert refusal(lambda: eur.sdk(BOB).cancel(bob_leg)) == "CANCEL_TOO_EARLY"

    eur.advance(1)  # Bob's leg times out first; Alice can no longer take it
    assert refusal(lambda: eur.sdk(ALICE).release(bob_leg, secret)) == "ESCROW_EXPIRED"
    eur.run(BOB, "escrow", "cancel", bob_leg)
    assert refusal(lambda: cny.sdk(ALICE).cancel(alice_leg)) == "CANCEL_TOO_EARLY"

    cny.advance(2)
    assert refusal(lambda: cny.sdk(BOB).release(alice_leg, secret)) == "ESCROW_EXPIRED"
    cny.run(ALICE, "escrow", "cancel", alice_leg)

    shown = tally("escrow", "show", alice_leg, "--localnet", cny.dir)  # for people
    assert shown.returncode == 0 and "20,000.00 CNY from acme-steel to rhein-parts" in shown.stdout
    assert f"cancelled at height {cny.record(alice_leg)['closed_height']}" in shown.stdout
    assert eur.record(bob_leg)["status"] == "cancelled"
    after = (cny.balance(ALICE), cny.balance(BOB), eur.balance(ALICE), eur.balance(BOB))
    assert after == before  # neither leg settled
