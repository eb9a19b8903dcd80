"""What the pages show about blocks and transactions, fetched from the node and verified here.

`ChainView` joins the reader, the genesis file and two caches: verified certificates (an LRU keyed
by the exact header and certificate bytes, so a tampered copy never hits a good entry) and
committed transactions (immutable once committed). Every page costs a few point reads of the
node, whatever the length of the chain.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from explorer.contents import Served, served
from explorer.reader import NodeError, NodeReader, RouteMissing
from explorer.state_view import StateProver
from explorer.validator_sets import SetInForce, SetTracker
from explorer.verify import (
    CertificateReport,
    Verdict,
    decode_header,
    verify_certificate,
    verify_contents,
)
from ledger.errors import TallyError
from ledger.genesis import Genesis
from ledger.hashing import sha256
from ledger.types import Header, Receipt, SignedTx
from wallet.forms import parse_certificate
from wallet.proofs import Check

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A small least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


@dataclass(frozen=True, slots=True)
class TxRow:
    id: str
    index: int
    contract: str
    method: str
    sender: str  # organization id, or the short key when unknown
    status: str
    error: str


@dataclass(frozen=True, slots=True)
class BlockView:
    height: int
    hash: str
    header: Header
    certificate: dict[str, Any]
    cert: CertificateReport | None  # None: the certificate did not even decode
    cert_error: str
    contents: Verdict
    txs: tuple[TxRow, ...]
    tx_ids: tuple[str, ...]
    raw_served: bool
    validator_set: SetInForce | None = None  # on a chain whose set may change
    withheld: int = 0  # txs whose bodies the node did not show the signed-in organization

    @property
    def ok(self) -> bool:
        return self.cert is not None and self.cert.ok and all(c.ok for c in self.contents.checks)

    @property
    def failures(self) -> list[Check]:
        failed = list(self.contents.failures)
        if self.cert is not None:
            failed = list(self.cert.verdict.failures) + failed
        else:
            failed.insert(0, Check("certificate", False, self.cert_error))
        return failed


@dataclass(frozen=True, slots=True)
class BlockRow:
    """One line of a blocks table: verified from the §9 list answer alone."""

    height: int
    hash: str
    time_ms: int
    txs: int
    proposer: str
    signers: tuple[int, ...]
    ok: bool
    reason: str
    tx_ids: tuple[str, ...] = ()
    signer_names: tuple[str, ...] = ()  # of the set in force at `height`, not genesis's


def _contents(raw: dict[str, Any]) -> tuple[Served | None, Served | None, Check | None]:
    """A raw block's txs and receipts (explorer/contents.py), or the check that says why they
    do not read."""
    try:
        return served(raw, "txs"), served(raw, "receipts"), None
    except ValueError as error:
        return None, None, Check("encodings", False, str(error))


class ChainView:
    def __init__(self, reader: NodeReader, genesis: Genesis, genesis_verified: bool) -> None:
        self.reader = reader
        self.reader_org = ""  # whom the node answers (explorer/sign_in.py), for its words
        self.genesis = genesis
        self.genesis_verified = genesis_verified
        self.cert_cache: Lru[tuple[bytes, bytes, int], CertificateReport] = Lru(4096)
        self.sets = SetTracker(genesis)  # followed only on a chain whose set may change
        self.tx_cache: Lru[str, dict[str, Any]] = Lru(4096)
        self.prover = StateProver(reader, genesis)
        self._key_orgs: dict[str, str] = {}
        self._orgs_at = 0.0
        self.decimals = {c.code: c.decimals for c in genesis.currencies}
        self.validator_orgs = {v.ed25519.hex(): v.org for v in genesis.validators}
        for org in genesis.orgs:
            for key in org.keys:
                self._key_orgs[key.public.hex()] = org.id

    # -- certificates ---------------------------------------------------------------------------

    def certificate_verdict(
        self, header: Header, certificate_json: Any
    ) -> tuple[CertificateReport | None, str]:
        """Verify (or recall) the certificate of `header`; (None, why) if it does not decode."""
        try:
            certificate = parse_certificate(certificate_json)
        except ValueError as error:
            return None, f"certificate does not decode: {error}"
        # the number of set changes known is in the key: a verdict made before the walk reached
        # a change is made again after it
        key = (sha256(header.encode()), certificate.encode(), len(self.sets.history.changes))
        verdict = self.cert_cache.get(key)
        if verdict is None:
            verdict = verify_certificate(self.genesis, header, certificate, self.sets.history)
            self.cert_cache.put(key, verdict)
        return verdict, ""

    def row(self, block: dict[str, Any]) -> BlockRow:
        """A §9 block answer checked: header decodes, its certificate verifies."""
        height = int(block.get("height", 0) or 0)
        try:
            header = decode_header(block.get("header"))
        except ValueError as decode_error:
            reason = str(decode_error)
            return BlockRow(height, str(block.get("hash", "")), 0, 0, "", (), False, reason, ())
        verdict, cert_error = self.certificate_verdict(header, block.get("certificate"))
        ok = verdict is not None and verdict.ok and header.height == height
        reason = cert_error or (verdict.verdict.reason if verdict else "")
        if header.height != height:
            reason = f"header is for height {header.height}"
        listed = block.get("txs", [])
        tx_ids = tuple(str(t) for t in listed) if isinstance(listed, list) else ()
        return BlockRow(
            height,
            header.hash().hex(),
            header.time_ms,
            len(tx_ids),
            self.validator_orgs.get(header.proposer.hex(), header.proposer.hex()[:12]),
            verdict.signer_indexes if verdict else (),
            ok,
            reason,
            tx_ids,
            verdict.signer_names if verdict else (),
        )

    async def rows(self, before: int, limit: int) -> list[BlockRow]:
        """Up to `limit` blocks below height `before`, newest first."""
        start = max(1, before - limit)
        if before <= 1:
            return []
        await self.sets.follow(self.reader, before - 1)
        blocks = await self.reader.blocks(start, before - start)
        rows = [self.row(b) for b in blocks if isinstance(b, dict)]
        rows.sort(key=lambda r: r.height, reverse=True)
        return rows

    # -- one block, fully -----------------------------------------------------------------------

    async def block(self, height: int) -> BlockView:
        """Block `height` with every check the node lets us make: certificate, roots, prev link."""
        await self.sets.follow(self.reader, height - 1)
        raw_task = asyncio.create_task(self._raw_or_plain(height))
        prev_task = asyncio.create_task(self._prev_hash(height))
        (raw, raw_served), prev_hash = await asyncio.gather(raw_task, prev_task)
        try:
            header = decode_header(raw.get("header"))
        except ValueError as error:
            raise NodeError(502, "BAD_BLOCK", f"the node served a block that {error}") from None
        txs, receipts, unreadable = _contents(raw) if raw_served else (None, None, None)
        verdict, cert_error = self.certificate_verdict(header, raw.get("certificate"))
        contents = verify_contents(header, txs, receipts, prev_hash, self.reader_org)
        problems = [] if unreadable is None else [unreadable]
        if header.height != height:
            problems.append(Check("height", False, f"asked for {height}, got {header.height}"))
        if problems:
            contents = Verdict((*problems, *contents.checks))
        ids = await self._withheld_ids(height, txs)
        rows = self._tx_rows(txs or Served(()), receipts or Served(()), ids)
        tx_ids = tuple(r.id for r in rows) if txs is not None else tuple(raw.get("txs", []))
        return BlockView(
            height,
            header.hash().hex(),
            header,
            raw.get("certificate") or {},
            verdict,
            cert_error,
            contents,
            rows,
            tx_ids,
            raw_served,
            self.sets.in_force(height) if self.genesis.membership else None,
            txs.withheld if txs is not None else 0,
        )

    async def _raw_or_plain(self, height: int) -> tuple[dict[str, Any], bool]:
        try:
            return await self.reader.raw_block(height), True
        except RouteMissing:
            return await self.reader.block(height), False

    async def _prev_hash(self, height: int) -> bytes | None:
        if height == 1:
            return self.genesis.hash()
        if height < 1:
            return None
        try:
            previous = await self.reader.block(height - 1)
            return decode_header(previous.get("header")).hash()
        except (NodeError, ValueError):
            return None

    async def _withheld_ids(self, height: int, txs: Served | None) -> tuple[str, ...]:
        """The tx ids of a block whose bodies were withheld (every member reads the ids)."""
        if txs is None or not txs.withheld:
            return ()
        try:
            listed = (await self.reader.block(height)).get("txs")
        except NodeError:
            return ()
        return tuple(str(t) for t in listed) if isinstance(listed, list) else ()

    def _tx_rows(self, txs: Served, receipts: Served, ids: tuple[str, ...]) -> tuple[TxRow, ...]:
        decoded_receipts: dict[int, Receipt] = {}
        for _, raw in receipts.shown:
            try:
                receipt = Receipt.decode(raw)
                decoded_receipts[receipt.index] = receipt
            except TallyError:
                continue
        rows = []
        for index, item in enumerate(txs.items):
            if item is None:
                tx_id = ids[index] if index < len(ids) else ""
                rows.append(TxRow(tx_id, index, "", "", "", "withheld", ""))
                continue
            raw = item
            try:
                tx = SignedTx.decode(raw)
            except TallyError:
                rows.append(TxRow(sha256(raw).hex(), index, "?", "?", "?", "malformed", ""))
                continue
            found = decoded_receipts.get(index)
            rows.append(
                TxRow(
                    tx.id.hex(),
                    index,
                    tx.body.contract,
                    tx.body.method,
                    self.org_of(tx.body.sender.hex()),
                    found.status if found else "?",
                    found.error.code if found and found.error else "",
                )
            )
        return tuple(rows)

    # -- transactions and organizations ----------------------------------------------------------

    async def tx(self, tx_id: str) -> dict[str, Any]:
        cached = self.tx_cache.get(tx_id)
        if cached is not None:
            return cached
        answer = await self.reader.tx(tx_id)
        if answer.get("status") == "committed":
            self.tx_cache.put(tx_id, answer)
        return answer

    def org_of(self, public_hex: str) -> str:
        return self._key_orgs.get(public_hex, public_hex[:12] + "…")

    async def refresh_orgs(self, max_age_s: float = 15.0) -> None:
        """Learn keys added after genesis (registry.add_key) for the sender column."""
        if time.monotonic() - self._orgs_at < max_age_s:
            return
        self._orgs_at = time.monotonic()
        try:
            orgs = await self.reader.orgs()
        except NodeError:
            return
        for org in orgs:
            for key in org.get("keys", []) if isinstance(org, dict) else []:
                if isinstance(key, dict) and isinstance(key.get("public"), str):
                    self._key_orgs[key["public"]] = str(org.get("id"))

    async def currency_decimals(self) -> dict[str, int]:
        """Genesis decimals, plus any currency the node lists that genesis did not."""
        try:
            for item in await self.reader.currencies():
                if isinstance(item, dict) and item.get("code") not in self.decimals:
                    self.decimals[str(item["code"])] = int(item.get("decimals", 0))
        except (NodeError, KeyError, ValueError, TypeError):
            pass
        return self.decimals
