"""Find a payment by its UETR: an index kept beside the chain, not in its state.

The UETR is a hash of the payment id (`contracts.exports.iso20022.uetr`), so it is not stored
(the state root stays what it was) and cannot be turned back into the id. The index maps each
UETR to its payment id: built once by walking the payment records (`pay/rec/`, so a node
restored from a snapshot, which holds no older events, still finds every payment), then kept up
to date from the committed events after the event sequence it was built at, a bounded page at a
time, whenever it is asked. The entries live in the node's metadata records (`uetr/<hex>`, beside
the chain, never in its state), so its memory stays one page whatever the number of payments;
the walks run on the API's read threads, one at a time behind a lock.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any, Protocol

from contracts import payments
from contracts.exports.iso20022 import uetr
from contracts.queries import StateReader
from ledger.chain import ChainTip

EVENT_PAGE = 1000
PAYMENT_EVENTS = frozenset({"payment", "payment_fx"})


class EventReader(StateReader, Protocol):
    def tip(self) -> ChainTip: ...
    def events(self, after: int, limit: int) -> list[dict[str, Any]]: ...
    def meta(self, name: str) -> bytes | None: ...
    def write_meta(self, records: dict[str, bytes | None]) -> None: ...


def _entry(value: str) -> str:
    return "uetr/" + uuid.UUID(value).hex


class UetrIndex:
    """UETR -> payment id (32 bytes) in `uetr/` metadata records, complete up to `event_seq`."""

    def __init__(self) -> None:
        self._page: dict[str, bytes | None] = {}
        self._lock = threading.Lock()
        self.event_seq: int | None = None  # None until this process's first walk of the records

    def _add(self, payment_id: str) -> None:
        self._page[_entry(uetr(payment_id))] = bytes.fromhex(payment_id)

    def _flush(self, chain: EventReader) -> None:
        if self._page:
            chain.write_meta(self._page)
            self._page = {}

    def _build(self, chain: EventReader) -> None:
        seq = chain.tip().event_seq  # first: a payment committed during the walk is met again
        for key, _ in chain.state_items(payments.record_key("")):
            self._add(key.removeprefix(payments.record_key("")))
            if len(self._page) >= EVENT_PAGE:
                self._flush(chain)
        self._flush(chain)
        self.event_seq = seq

    def _catch_up(self, chain: EventReader) -> None:
        seq = self.event_seq or 0
        while True:
            page = chain.events(seq, EVENT_PAGE)
            for record in page:
                event = record["event"]
                if event.get("type") in PAYMENT_EVENTS:
                    self._add(str(event["id"]))
                seq = int(record["seq"])
            self._flush(chain)
            if len(page) < EVENT_PAGE:
                break
        self.event_seq = seq

    def find(self, chain: EventReader, value: str) -> str | None:
        """The id of the payment whose UETR is `value` (any case), or None."""
        wanted = _entry(value)
        with self._lock:
            if self.event_seq is None:
                self._build(chain)
            self._catch_up(chain)
            found = chain.meta(wanted)
        return None if found is None else found.hex()
