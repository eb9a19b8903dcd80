"""Verification of a block whose tx bodies a members node withheld (DESIGN.md §9): the roots
recompute from the node's leaf hashes for the withheld txs and from the bodies for the rest,
the certificate still verifies, and a body that is not the leaf it stands beside fails."""

from __future__ import annotations

from typing import Any

import pytest

from explorer.audit import check_block
from explorer.contents import Served, served
from explorer.verify import verify_block, verify_contents
from ledger.merkle import leaf_hash
from tests.unit.test_explorer_verify import RECEIPTS, TXS, _block, _cert_json


def _raw(withheld: set[int]) -> dict[str, Any]:
    """A raw block answer as a members node gives it to a caller not entitled to `withheld`."""
    _, header, certificate = _block()
    answer: dict[str, Any] = {
        "height": 1,
        "header": header.encode().hex(),
        "certificate": _cert_json(certificate),
        "txs": [None if i in withheld else t.hex() for i, t in enumerate(TXS)],
        "receipts": [None if i in withheld else r.hex() for i, r in enumerate(RECEIPTS)],
    }
    if withheld:
        answer["tx_leaves"] = [leaf_hash(t).hex() for t in TXS]
        answer["receipt_leaves"] = [leaf_hash(r).hex() for r in RECEIPTS]
    return answer


def test_withheld_txs_recompute_from_their_leaf_hashes_and_say_so() -> None:
    genesis, header, certificate = _block()
    raw = _raw({0, 2})
    txs, receipts = served(raw, "txs"), served(raw, "receipts")
    assert (txs.withheld, receipts.withheld) == (2, 2)
    verdict = verify_block(genesis, header, certificate, txs, receipts, genesis.hash())
    assert verdict.ok, verdict.reason
    contents = verify_contents(header, txs, receipts, genesis.hash(), "acme-steel")
    details = {check.name: check.detail for check in contents.checks}
    assert details["withheld"] == "2 txs withheld (not visible to acme-steel)"
    assert "2 from the node's leaf hashes" in details["txs_root"]
    names = [c.name for c in verdict.checks]
    assert "BLS aggregate signature" in names and "quorum" in names


def test_a_block_with_nothing_withheld_says_nothing_of_it() -> None:
    _, header, _ = _block()
    raw = _raw(set())
    contents = verify_contents(header, served(raw, "txs"), served(raw, "receipts"), None, "x")
    assert contents.ok and "withheld" not in [c.name for c in contents.checks]


def test_a_shown_body_that_is_not_its_leaf_fails() -> None:
    _, header, _ = _block()
    raw = _raw({0})
    raw["txs"][1] = b"tx-forged".hex()  # the leaves are the real ones, the body is not
    contents = verify_contents(header, served(raw, "txs"), served(raw, "receipts"), None)
    assert [c.name for c in contents.failures] == ["txs_root"]
    assert "transaction 1's body does not match the leaf hash" in contents.failures[0].detail


def test_a_forged_leaf_for_a_withheld_tx_fails_the_root() -> None:
    _, header, _ = _block()
    raw = _raw({2})
    raw["receipt_leaves"][2] = leaf_hash(b"another receipt").hex()
    contents = verify_contents(header, served(raw, "txs"), served(raw, "receipts"), None)
    assert [c.name for c in contents.failures] == ["receipts_root"]
    assert "differs from the header" in contents.failures[0].detail


@pytest.mark.parametrize(
    "change",
    [
        lambda raw: raw.pop("tx_leaves"),  # withheld, and no leaf hash to stand for it
        lambda raw: raw["tx_leaves"].pop(),  # one leaf hash short
    ],
)
def test_a_withheld_tx_without_its_leaf_fails(change: Any) -> None:
    _, header, _ = _block()
    raw = _raw({1})
    change(raw)
    contents = verify_contents(header, served(raw, "txs"), served(raw, "receipts"), None)
    assert [c.name for c in contents.failures] == ["txs_root"]


def test_malformed_encodings_are_refused_with_a_reason() -> None:
    raw = _raw({1})
    raw["tx_leaves"][0] = "zz"
    with pytest.raises(ValueError, match=r"tx_leaves\[0\] is not hex"):
        served(raw, "txs")
    assert Served.of(TXS).withheld == 0


def test_the_audit_walk_passes_a_block_with_withheld_txs() -> None:
    genesis, _, _ = _block()
    checked = check_block(genesis, _raw({0, 1, 2}), 1, genesis.hash(), reader="acme-steel")
    assert all(check.ok for check in checked.checks), [c for c in checked.checks if not c.ok]
    withheld = [c.detail for c in checked.checks if c.name == "withheld"]
    assert withheld == ["3 txs withheld (not visible to acme-steel)"]
    forged = _raw({0})
    forged["txs"][2] = forged["txs"][1]
    refused = check_block(genesis, forged, 1, genesis.hash())
    assert [c.name for c in refused.checks if not c.ok] == ["txs_root"]
