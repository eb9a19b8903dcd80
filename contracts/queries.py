"""Read models of committed state, beside the contracts that write it: what the HTTP API shows.

Each query spells keys only through its contract's own key helpers, and reads through a
`StateReader` (a `ledger.chain.ChainStore`), so nothing above contracts/ knows the storage
layout. Answers are the stored maps as decoded (the JSON the API has always served), or views
built from them; listings walk an index from a cursor with a limit, so a page costs the same
however long the chain is. Receivables (pieces, trace, listings): contracts/receivables_queries.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from contracts import fx, governance, netting, payments, registry
from contracts.exports.iso20022 import Directory
from ledger.state_keys import balance_key


class StateReader(Protocol):
    """Committed state: point reads and ordered, bounded walks (ledger.chain.ChainStore)."""

    def state(self, key: str) -> Any: ...

    def state_items(
        self,
        prefix: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> Iterator[tuple[str, Any]]: ...


def _record(state: StateReader, key: str) -> dict[str, Any] | None:
    value = state.state(key)
    return None if value is None else dict(value)


# -- organizations and cash --------------------------------------------------------------------


def org(state: StateReader, org_id: str) -> dict[str, Any] | None:
    """An organization's registry record."""
    return _record(state, registry.org_key(org_id))


def orgs(state: StateReader, after: str | None, limit: int) -> list[dict[str, Any]]:
    """Organizations in id order, strictly after the id `after` (None: from the first)."""
    items = state.state_items(registry.ORG_PREFIX, after=after or None, limit=limit)
    return [dict(record) for _, record in items]


def active_org_count(state: StateReader) -> int:
    """Organizations not suspended: a node's mempool divides its capacity by this, so each
    organization keeps a fair share (DESIGN.md §5)."""
    items = state.state_items(registry.ORG_PREFIX)
    return sum(1 for _, record in items if not record.get("suspended", False))


def currencies(state: StateReader) -> list[dict[str, Any]]:
    """Every currency on the chain, by code."""
    return [dict(record) for _, record in state.state_items(registry.CURRENCY_PREFIX)]


def balances_of(state: StateReader, org_id: str, codes: Iterable[str]) -> dict[str, int]:
    """An organization's non-zero balances in the currencies `codes`, in that order."""
    balances = {}
    for code in codes:
        held = state.state(balance_key(code, org_id))
        if held:
            balances[code] = int(held)
    return balances


def directory(state: StateReader) -> Directory:
    """Organizations and currencies as the ISO 20022 export looks them up."""
    prefixes = (registry.ORG_PREFIX, registry.CURRENCY_PREFIX)
    found = [
        {key.removeprefix(prefix): value for key, value in state.state_items(prefix)}
        for prefix in prefixes
    ]
    return Directory(found[0], found[1])


# -- payments ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentEntry:
    """A payment in an organization's list, with the roles it had in it."""

    record: dict[str, Any]
    roles: list[str]


@dataclass(frozen=True, slots=True)
class PaymentsPage:
    entries: tuple[PaymentEntry, ...]
    next: str | None  # the cursor that continues the list, None at its end


def payment(state: StateReader, payment_id: str) -> dict[str, Any] | None:
    return _record(state, payments.record_key(payment_id))


def payments_of(
    state: StateReader, org_id: str, role: str | None, cursor: str | None, limit: int
) -> PaymentsPage:
    """An organization's payments, newest first, strictly before `cursor`, in `role` if given.

    The cursor is the index key of the last payment of the previous page (`height/id`).
    """
    prefix = payments.index_prefix(org_id)
    entries: list[PaymentEntry] = []
    for key, entry in state.state_items(prefix, after=cursor, reverse=True):
        if role is not None and role not in entry["roles"]:
            continue
        record = payment(state, entry["id"])
        if record is not None:
            entries.append(PaymentEntry(record, list(entry["roles"])))
        if len(entries) >= limit:
            return PaymentsPage(tuple(entries), key.removeprefix(prefix))
    return PaymentsPage(tuple(entries), None)


# -- FX quotes ---------------------------------------------------------------------------------


def quote(state: StateReader, quote_id: str) -> dict[str, Any] | None:
    return _record(state, fx.quote_key(quote_id))


def open_quotes(
    state: StateReader,
    now_ms: int,
    base: str | None,
    quote_currency: str | None,
    dealer: str | None,
) -> list[dict[str, Any]]:
    """Quotes neither withdrawn, exhausted nor expired at `now_ms`, best rate first per pair."""
    quotes = []
    for key, _ in state.state_items(fx.OPEN_PREFIX):
        record = quote(state, key.removeprefix(fx.OPEN_PREFIX))
        if record is None or record["expires_ms"] < now_ms:
            continue
        if (base and record["base"] != base) or (
            quote_currency and record["quote"] != quote_currency
        ):
            continue
        if dealer and record["dealer"] != dealer:
            continue
        quotes.append(record)
    quotes.sort(key=lambda q: (q["base"], q["quote"], -q["rate"], q["id"]))
    return quotes


# -- netting -----------------------------------------------------------------------------------


def window(state: StateReader, window_id: str) -> dict[str, Any] | None:
    return _record(state, netting.window_key(window_id))


def obligations(state: StateReader, window_id: str, limit: int) -> list[dict[str, Any]]:
    """A window's first `limit` obligations, in the order they were submitted."""
    if limit <= 0:
        return []
    items = state.state_items(netting.obligation_prefix(window_id), limit=limit)
    return [dict(entry) for _, entry in items]


def window_view(state: StateReader, window_id: str, limit: int) -> dict[str, Any] | None:
    """A window with its net total (so far, until it is settled) and first obligations."""
    record = window(state, window_id)
    if record is None:
        return None
    net = sum(value for value in record["positions"].values() if value > 0)
    return {
        **record,
        "net": record.get("net", net),
        "obligations": obligations(state, window_id, limit),
    }


# -- governance --------------------------------------------------------------------------------


def proposal(state: StateReader, proposal_id: str) -> dict[str, Any] | None:
    return _record(state, governance.proposal_key(proposal_id))


def proposals(
    state: StateReader, now_ms: int, status: str | None, limit: int
) -> list[dict[str, Any]]:
    """Proposals newest first; an open one past its expiry at `now_ms` shows as "expired"."""
    found = []
    for _, record in state.state_items(governance.PROPOSAL_PREFIX):
        view = dict(record)
        if view["status"] == "open" and view["expires_ms"] < now_ms:
            view["status"] = "expired"
        if status is None or view["status"] == status:
            found.append(view)
    found.sort(key=lambda p: (-p["created_height"], p["id"]))
    return found[:limit]
