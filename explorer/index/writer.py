"""Writes verified blocks into the index, a block range per database transaction.

`prepare` turns a range of decoded blocks into rows and the balances they leave (reading the
index, writing nothing), so the follower can check those balances against proofs first;
`commit` writes the rows, the business tables and the new cursor (height and hash of the last
block) in one transaction. A crash therefore leaves the index at a block boundary, and the
follower resumes from the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from explorer.index import money, records
from explorer.index.db import Database, IndexDbError
from explorer.index.decode import BlockRecord, TxRecord, to_text
from explorer.index.schema import migrate
from ledger.genesis import Genesis
from ledger.membership import set_changes

Pair = tuple[str, str]  # (org, currency)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the index stands: the last block written (0 and the genesis hash when empty)."""

    height: int
    block_hash: bytes


@dataclass(slots=True)
class Batch:
    """The rows of one block range, ready to commit."""

    blocks: list[BlockRecord]
    block_rows: list[tuple[Any, ...]] = field(default_factory=list)
    tx_rows: list[tuple[Any, ...]] = field(default_factory=list)
    event_rows: list[tuple[Any, ...]] = field(default_factory=list)
    movement_rows: list[tuple[Any, ...]] = field(default_factory=list)
    places: list[tuple[records.Place, dict[str, Any]]] = field(default_factory=list)
    balances: dict[Pair, int] = field(default_factory=dict)  # touched pairs: balance after
    moved_at: dict[Pair, int] = field(default_factory=dict)  # touched pairs: last height moved
    set_changes: list[tuple[int, str]] = field(default_factory=list)

    @property
    def last(self) -> BlockRecord:
        return self.blocks[-1]


def _tx_row(block: BlockRecord, item: TxRecord, sender: str, currency: str) -> tuple[Any, ...]:
    body, receipt = item.tx.body, item.receipt
    args = body.args
    amount = args.get("amount", args.get("base_amount"))
    error = receipt.error
    return (
        item.id,
        block.height,
        receipt.index,
        block.header.time_ms,
        body.contract,
        body.method,
        sender,
        body.sender.hex(),
        str(args.get("to", "")),
        currency,
        int(amount) if isinstance(amount, int) else None,
        receipt.status,
        error.code if error else "",
        error.message if error else "",
        to_text(args),
        to_text(receipt.result),
    )


class IndexWriter:
    def __init__(self, db: Database, genesis: Genesis) -> None:
        self.db = db
        self.genesis = genesis
        self._key_orgs: dict[str, str] = {}
        self._piece_currency: dict[str, str] = {}
        self._window_currency: dict[str, str] = {}
        self._balances: dict[Pair, int] = {}

    # -- opening ---------------------------------------------------------------------------------

    def open(self) -> Cursor:
        """Migrate, check the index belongs to this chain (or claim an empty one), and say where
        it stands."""
        migrate(self.db)
        genesis_hash = self.genesis.hash().hex()
        meta = self._meta()
        if not meta:
            with self.db.transaction():
                self._claim(genesis_hash)
            meta = self._meta()
        if meta.get("genesis_hash") != genesis_hash:
            raise IndexDbError(
                "INDEX_OTHER_CHAIN",
                f"the index holds chain {meta.get('chain')!r} of genesis "
                f"{str(meta.get('genesis_hash'))[:16]}…, not {self.genesis.chain!r} of "
                f"{genesis_hash[:16]}…",
            )
        self._key_orgs = dict(self.db.all("SELECT public_key, org FROM org_keys"))
        return Cursor(int(meta["height"]), bytes.fromhex(meta["last_hash"]))

    def _meta(self) -> dict[str, str]:
        return {
            str(name): str(value)
            for name, value in self.db.all("SELECT name, value FROM index_meta")
        }

    def _claim(self, genesis_hash: str) -> None:
        decimals = {c.code: c.decimals for c in self.genesis.currencies}
        meta = {
            "chain": self.genesis.chain,
            "genesis_hash": genesis_hash,
            "height": "0",
            "last_hash": genesis_hash,
            "decimals": to_text(decimals),
        }
        self.db.executemany(
            "INSERT INTO index_meta (name, value) VALUES (?, ?)", list(meta.items())
        )
        self.db.executemany(
            "INSERT INTO org_keys (public_key, org, role, height) VALUES (?, ?, ?, 0)",
            [(k.public.hex(), org.id, k.role) for org in self.genesis.orgs for k in org.keys],
        )

    def validator_receipts(self) -> list[tuple[int, list[bytes]]]:
        """The receipts of every indexed block that changed the validator set, to rebuild the
        set history on a resume."""
        rows = self.db.all("SELECT height, receipts FROM validator_changes ORDER BY height")
        return [(int(h), [bytes.fromhex(r) for r in text.split(",") if r]) for h, text in rows]

    # -- preparing -------------------------------------------------------------------------------

    def _currency_of(self, piece: str) -> str:
        known = self._piece_currency.get(piece)
        if known is None:
            row = self.db.one("SELECT currency FROM pieces WHERE id = ?", (piece,))
            known = str(row[0]) if row else ""
            self._piece_currency[piece] = known
        return known

    def _balance(self, pair: Pair) -> int:
        if pair not in self._balances:
            row = self.db.one("SELECT balance FROM balances WHERE org = ? AND currency = ?", pair)
            self._balances[pair] = int(row[0]) if row else 0
        return self._balances[pair]

    def balance_after(self, org: str, currency: str) -> int:
        """The balance the prepared movements leave (the last committed one otherwise)."""
        return self._balance((org, currency))

    def _learn(self, event: dict[str, Any]) -> None:
        """What later events of the same batch need: piece currencies, keys' organizations."""
        kind = event.get("type")
        if kind == "receivable_issued":
            self._piece_currency[str(event["id"])] = str(event["currency"])
        elif kind == "receivable_split":
            self._piece_currency[str(event["child"])] = self._currency_of(str(event["id"]))
        elif kind == "window_opened":
            self._window_currency[str(event["id"])] = str(event["currency"])
        elif kind == "key_added":
            self._key_orgs[str(event["public"])] = str(event["org"])

    def _tx_currency(self, item: TxRecord) -> str:
        args = item.tx.body.args
        currency = args.get("currency", args.get("base", ""))
        contract = item.tx.body.contract
        if not currency and contract == "receivables":
            piece = args.get("id")
            currency = self._currency_of(piece) if isinstance(piece, str) else ""
        if not currency and contract == "netting" and isinstance(args.get("window"), str):
            currency = self._currency_of_window(args["window"])
        return str(currency)

    def _currency_of_window(self, window: str) -> str:
        known = self._window_currency.get(window)
        if known is None:
            row = self.db.one("SELECT currency FROM netting_windows WHERE id = ?", (window,))
            known = self._window_currency[window] = str(row[0]) if row else ""
        return known

    def _events(self, batch: Batch, block: BlockRecord, item: TxRecord) -> None:
        receipt, time_ms = item.receipt, block.header.time_ms
        for pos, event in enumerate(receipt.events):
            event_value = dict(event)
            batch.event_rows.append(
                (
                    block.height,
                    receipt.index,
                    pos,
                    item.id,
                    str(event.get("contract", "")),
                    str(event.get("type", "")),
                    to_text(event_value),
                )
            )
            self._learn(event_value)
            place = records.Place(
                block.height,
                receipt.index,
                pos,
                item.id,
                time_ms,
                item.tx.body.args,
                receipt.result,
            )
            batch.places.append((place, event_value))
            moves = money.movements(event_value, receipt.result, self._currency_of)
            for step, move in enumerate(moves):
                pair = (move.org, move.currency)
                balance = self._balance(pair) + move.amount
                self._balances[pair] = batch.balances[pair] = balance
                batch.moved_at[pair] = block.height
                batch.movement_rows.append(
                    (
                        block.height,
                        receipt.index,
                        pos * 1000 + step,
                        item.id,
                        time_ms,
                        move.org,
                        move.currency,
                        move.amount,
                        move.counterparty,
                        move.kind,
                        balance,
                    )
                )

    def prepare(self, blocks: Sequence[BlockRecord]) -> Batch:
        """The rows of `blocks` (in height order, following the cursor); writes nothing."""
        batch = Batch(list(blocks))
        for block in blocks:
            header = block.header
            failed = sum(1 for item in block.txs if item.receipt.status != "ok")
            batch.block_rows.append(
                (
                    header.height,
                    block.hash,
                    header.prev.hex(),
                    header.time_ms,
                    header.proposer.hex(),
                    header.view,
                    len(block.txs),
                    failed,
                    ",".join(str(i) for i in block.signers),
                    header.state_root.hex(),
                )
            )
            for item in block.txs:
                sender_key = item.tx.body.sender.hex()
                sender = self._key_orgs.get(sender_key, sender_key[:12])
                batch.tx_rows.append(_tx_row(block, item, sender, self._tx_currency(item)))
                if item.receipt.status == "ok":
                    self._events(batch, block, item)
            if self.genesis.membership and set_changes(
                header.height, [t.receipt for t in block.txs]
            ):
                batch.set_changes.append((header.height, ",".join(r.hex() for r in block.receipts)))
        return batch

    def forget(self) -> None:
        """Drop what `prepare` cached: after a batch that was not committed."""
        self._balances.clear()
        self._piece_currency.clear()
        self._window_currency.clear()
        self._key_orgs = dict(self.db.all("SELECT public_key, org FROM org_keys"))

    # -- committing ------------------------------------------------------------------------------

    def commit(self, batch: Batch) -> Cursor:
        """Write `batch` and move the cursor, in one transaction."""
        db = self.db
        with db.transaction():
            db.executemany(f"INSERT INTO blocks VALUES ({_marks(10)})", batch.block_rows)
            db.executemany(f"INSERT INTO txs VALUES ({_marks(16)})", batch.tx_rows)
            db.executemany(f"INSERT INTO events VALUES ({_marks(7)})", batch.event_rows)
            db.executemany(f"INSERT INTO movements VALUES ({_marks(11)})", batch.movement_rows)
            for place, event in batch.places:
                records.apply_event(db, place, event)
            db.executemany(
                "INSERT INTO balances (org, currency, balance, height) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (org, currency) DO UPDATE SET balance = excluded.balance, "
                "height = excluded.height",
                [(o, c, v, batch.moved_at[(o, c)]) for (o, c), v in sorted(batch.balances.items())],
            )
            db.executemany("INSERT INTO validator_changes VALUES (?, ?)", batch.set_changes)
            db.executemany(
                "UPDATE index_meta SET value = ? WHERE name = ?",
                [(str(batch.last.height), "height"), (batch.last.hash, "last_hash")],
            )
        return Cursor(batch.last.height, bytes.fromhex(batch.last.hash))


def _marks(count: int) -> str:
    return ", ".join("?" * count)
