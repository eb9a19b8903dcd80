"""A block's txs and receipts as a node served them to its caller, some perhaps withheld.

On a `members` node (DESIGN.md §9) a caller sees every header, certificate and tx id, but a
tx's body and receipt only when it is entitled to them: `/v1/raw/blocks` then gives null in
their place and, beside the lists, the RFC 6962 leaf hash of every tx and receipt
(`tx_leaves`, `receipt_leaves`). The roots still recompute here: from the leaf hash for a
withheld item, from the body for a shown one — and a shown body whose hash is not the leaf
hash the node gave fails, so a node cannot pass off one body under another's leaf.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.merkle import leaf_hash, root_from_leaf_hashes
from wallet.proofs import Check


@dataclass(frozen=True, slots=True)
class Served:
    """One list of a block (its txs, or its receipts): each encoding, None where withheld,
    and the leaf hashes the node gave beside them (empty when it withheld nothing)."""

    items: tuple[bytes | None, ...]
    leaves: tuple[bytes, ...] = ()

    @staticmethod
    def of(items: Served | Sequence[bytes | None]) -> Served:
        return items if isinstance(items, Served) else Served(tuple(items))

    @property
    def withheld(self) -> int:
        return sum(1 for item in self.items if item is None)

    @property
    def shown(self) -> tuple[tuple[int, bytes], ...]:
        """(index in the block, encoding) of every item the node served."""
        return tuple((i, item) for i, item in enumerate(self.items) if item is not None)


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not hex")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{what} is not hex") from None


def served(raw: dict[str, Any], name: str) -> Served:
    """`raw[name]` ("txs" or "receipts") of a raw block answer; ValueError if malformed."""
    listed = raw.get(name)
    if not isinstance(listed, list):
        raise ValueError(f"{name} is not a list")
    items = tuple(None if v is None else _hex(v, f"{name}[{i}]") for i, v in enumerate(listed))
    leaves_key = name[:-1] + "_leaves"
    given = raw.get(leaves_key)
    if given is None:
        return Served(items)
    if not isinstance(given, list):
        raise ValueError(f"{leaves_key} is not a list")
    return Served(items, tuple(_hex(v, f"{leaves_key}[{i}]") for i, v in enumerate(given)))


def _leaf_hashes(list_: Served, noun: str) -> list[bytes] | str:
    """Every item's leaf hash, or why they cannot be had (a withheld item without its leaf
    hash, a body that does not hash to the leaf the node gave)."""
    if list_.leaves and len(list_.leaves) != len(list_.items):
        return f"{len(list_.leaves)} leaf hashes for {len(list_.items)} {noun}s"
    hashes = []
    for index, item in enumerate(list_.items):
        if item is None:
            if not list_.leaves:
                return f"{noun} {index} withheld without its leaf hash"
            hashes.append(list_.leaves[index])
            continue
        hashed = leaf_hash(item)
        if list_.leaves and list_.leaves[index] != hashed:
            return f"{noun} {index}'s body does not match the leaf hash the node gave"
        hashes.append(hashed)
    return hashes


def root_check(name: str, noun: str, list_: Served, header_root: bytes) -> Check:
    """`name` (txs_root or receipts_root) recomputed over `list_` against the header's."""
    hashes = _leaf_hashes(list_, noun)
    if isinstance(hashes, str):
        return Check(name, False, hashes)
    matches = root_from_leaf_hashes(hashes) == header_root
    from_leaves = f", {list_.withheld} from the node's leaf hashes" if list_.withheld else ""
    return Check(
        name,
        matches,
        f"recomputed over {len(hashes)} {noun}(s){from_leaves}"
        + ("" if matches else ": differs from the header"),
    )


def withheld_check(txs: Served, reader: str) -> Check | None:
    """The passed check that says how many txs this caller was not shown, if any."""
    if not txs.withheld:
        return None
    who = reader or "this caller"
    return Check("withheld", True, f"{txs.withheld} txs withheld (not visible to {who})")
