"""Whom each record concerns: the organizations entitled to read it (DESIGN.md §9, access).

The read model behind the node's read policy (node/api/access_policy.py), beside the contracts
whose records it reads, so nothing above contracts/ spells a storage key. Every answer is the
set of organization ids a record concerns, `EVERYONE` for what every member reads (the
directory, quotes, the validator set), or None when there is no such record. It reads the
records and indexes the contracts keep, by point reads, memoized for the life of one `Concerns`
(one API answer): a receivable costs one walk of its invoice's family (the trace's own walk),
never a scan of the chain.

Who a record concerns:
- a receivable (any piece, its offers, disputes, held repayments, document grants): the whole
  invoice family's creditor and debtor, every organization that held a piece of it (now or
  before), every bank that financed or offered to finance a piece, the organization a piece was
  turned back on by recourse, and those the document was shared with;
- a payment: payer, payee, the FX dealer, and the bank servicing each leg's payer and payee in
  the leg's currency (its DbtrAgt/CdtrAgt, `account_servicer`);
- an escrow: payer and payee, and the bank servicing each of them in its currency;
- a balance or a cash movement: the account's owner and its servicing bank in that currency;
- a netting window: its opener and participants; a governance proposal: every bank (they vote)
  and the organization it names;
- an organization's registry record: that organization.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from contracts import escrow, governance, netting, payments, registry
from contracts.exports.iso20022 import account_servicer
from contracts.queries import StateReader
from contracts.reader_scope import reader_scope
from contracts.receivables_documents import share_prefix
from contracts.receivables_queries import offers_of
from contracts.receivables_state import offer_key
from ledger.state_keys import piece_key

Orgs = frozenset[str]
EVERYONE: Orgs = frozenset({"*"})  # no organization id can be "*" (contracts/args.org_id)

# Event fields that name an organization, and those that list several.
ORG_FIELDS = (
    "by", "to", "from", "payer", "payee", "debtor", "creditor", "org", "dealer", "bank",
    "proposer", "holder", "seller",
)  # fmt: skip
ORG_LIST_FIELDS = ("participants", "orgs")
PUBLIC_EVENTS = frozenset(
    {"clock_advanced", "quoted", "quote_withdrawn", "key_added", "key_removed",
     "validator_set_changed"}
)  # fmt: skip
# State keys every member reads: the directory, currencies, quotes, the validator set, params.
PUBLIC_KEYS = ("reg/key/", "reg/cur/", "reg/banks", "reg/param/", "fx/", "clock/", "val/")


class Concerns:
    """Whom records concern, read through `state` with memos for one answer."""

    def __init__(self, state: StateReader) -> None:
        self.state = state
        self._orgs: dict[str, dict[str, Any] | None] = {}
        self._families: dict[str, Orgs | None] = {}
        self._issuers: dict[str, list[str]] = {}

    # -- organizations ---------------------------------------------------------------------------

    def org_record(self, org_id: str) -> dict[str, Any] | None:
        if org_id not in self._orgs:
            record = self.state.state(registry.org_key(org_id))
            self._orgs[org_id] = None if record is None else dict(record)
        return self._orgs[org_id]

    def jurisdiction(self, org_id: str) -> str:
        record = self.org_record(org_id)
        return "" if record is None else str(record.get("jurisdiction") or "")

    def servicer(self, org_id: str, code: str) -> str:
        """The bank that holds `org_id`'s money in `code` (as the ISO 20022 export says)."""
        if code not in self._issuers:
            record = self.state.state(registry.currency_key(code))
            self._issuers[code] = [] if record is None else list(record.get("issuers") or [])
        record = self.org_record(org_id)
        return account_servicer(
            org_id, None if record is None else record.get("kind"), self._issuers[code]
        )

    def with_servicers(self, orgs: Iterable[str], code: str) -> Orgs:
        named = set(orgs)
        return frozenset(named | {self.servicer(org, code) for org in named})

    def org(self, org_id: str) -> Orgs | None:
        return None if self.org_record(org_id) is None else frozenset({org_id})

    def balance(self, org_id: str, code: str) -> Orgs:
        return self.with_servicers([org_id], code)

    # -- receivables -----------------------------------------------------------------------------

    def receivable(self, piece_id: str) -> Orgs | None:
        """The parties of the invoice family `piece_id` belongs to."""
        record = self.state.state(piece_key(piece_id))
        if record is None:
            return None
        root = str(record["root"])
        if root not in self._families:
            self._families[root] = self._family(root)
        return self._families[root]

    def _family(self, root_id: str) -> Orgs | None:
        parties: set[str] = set()
        pending = [root_id]
        while pending:
            record = self.state.state(piece_key(pending.pop()))
            if record is None:
                continue
            parties.update(_piece_parties(record))
            parties.update(str(o["bank"]) for o in offers_of(self.state, str(record["id"])))
            pending.extend(str(child) for child in record["children"])
        prefix = share_prefix(root_id)
        parties.update(key[len(prefix) :] for key, _ in self.state.state_items(prefix))
        return frozenset(parties) if parties else None

    def offer(self, offer_id: str) -> Orgs | None:
        record = self.state.state(offer_key(offer_id))
        return None if record is None else self.receivable(str(record["piece"]))

    # -- payments, escrows, netting, governance --------------------------------------------------

    def payment(self, payment_id: str) -> Orgs | None:
        record = self.state.state(payments.record_key(payment_id))
        return None if record is None else self.payment_record(record)

    def payment_record(self, record: dict[str, Any]) -> Orgs:
        named = {str(record["payer"]), str(record["payee"])}
        if record.get("dealer"):
            named.add(str(record["dealer"]))
        for leg in record.get("legs") or ():
            named |= self.with_servicers([str(leg["from"]), str(leg["to"])], str(leg["currency"]))
        return frozenset(named)

    def escrow(self, escrow_id: str) -> Orgs | None:
        record = self.state.state(escrow.record_key(escrow_id))
        return None if record is None else self.escrow_record(record)

    def escrow_record(self, record: dict[str, Any]) -> Orgs:
        return self.with_servicers(
            [str(record["payer"]), str(record["payee"])], str(record["currency"])
        )

    def window(self, window_id: str) -> Orgs | None:
        record = self.state.state(netting.window_key(window_id))
        if record is None:
            return None
        return frozenset({str(record["opener"]), *map(str, record["participants"])})

    def proposal(self, proposal_id: str) -> Orgs | None:
        record = self.state.state(governance.proposal_key(proposal_id))
        return None if record is None else self.proposal_record(record)

    def proposal_record(self, record: dict[str, Any]) -> Orgs:
        params = record.get("params") or {}
        named = {str(params[name]) for name in ("org", "id") if isinstance(params.get(name), str)}
        named.update(str(org) for org in params.get("orgs") or ())
        banks = self.state.state(registry.BANKS_KEY) or []
        return frozenset({*map(str, banks), str(record["proposer"]), *named})

    # -- events, txs, state keys -----------------------------------------------------------------

    def event(self, event: dict[str, Any]) -> Orgs:
        """The organizations an event concerns: those it names, and its record's parties."""
        kind = str(event.get("type", ""))
        if kind in PUBLIC_EVENTS:
            return EVERYONE
        named = set(_named(event))
        subject = _event_subject(self, kind, event)
        if subject is not None:
            named |= subject
        if kind in ("issued", "transferred", "redeemed"):
            return self.with_servicers(named, str(event.get("currency", "")))
        return frozenset(named)

    def events(self, events: Iterable[dict[str, Any]]) -> Orgs:
        found: set[str] = set()
        for event in events:
            found |= self.event(event)
        return frozenset(found)

    def signer(self, public: bytes) -> str | None:
        """The organization a tx signing key belongs to (None: a key since removed)."""
        entry = self.state.state(registry.KEY_PREFIX + public.hex())
        return None if entry is None else str(entry["org"])

    def state_key(self, key: str) -> Orgs | None:
        """Whom the state key `key` concerns (None: nobody but an unscoped reader)."""
        if key.startswith(PUBLIC_KEYS):
            return EVERYONE
        for prefix, resolve in _KEY_SUBJECTS:
            if key.startswith(prefix):
                return resolve(self, key[len(prefix) :].split("/"))
        return None


def _piece_parties(record: dict[str, Any]) -> set[str]:
    found = {str(record[name]) for name in ("creditor", "debtor", "holder")}
    found.update(str(step["holder"]) for step in record.get("history") or ())
    for name in ("financed_by", "recourse_from"):
        if record.get(name):
            found.add(str(record[name]))
    financing = record.get("financing") or {}
    found.update(str(financing[name]) for name in ("bank", "seller") if financing.get(name))
    return found


def _named(event: dict[str, Any]) -> Iterable[str]:
    for name in ORG_FIELDS:
        value = event.get(name)
        if isinstance(value, str):
            yield value
    for name in ORG_LIST_FIELDS:
        value = event.get(name)
        if isinstance(value, list):
            yield from (str(item) for item in value)


def _event_subject(concerns: Concerns, kind: str, event: dict[str, Any]) -> Orgs | None:
    """The parties of the record an event is about (its family, payment, window, ...)."""
    for prefix, field, resolve in _EVENT_SUBJECTS:
        if kind.startswith(prefix):
            value = event.get(field)
            return resolve(concerns, value) if isinstance(value, str) else None
    return None


_Resolve = Callable[[Concerns, str], Orgs | None]
# (event type prefix, the field naming its record, whom that record concerns); first match wins
_EVENT_SUBJECTS: tuple[tuple[str, str, _Resolve], ...] = (
    ("financing_offered", "piece", Concerns.receivable),
    ("repayment_", "piece", Concerns.receivable),
    ("receivable_", "id", Concerns.receivable),
    ("document_shared", "id", Concerns.receivable),
    ("payment", "id", Concerns.payment),
    ("escrow_", "id", Concerns.escrow),
    ("window_", "id", Concerns.window),
    ("obligation", "window", Concerns.window),
    ("proposed", "id", Concerns.proposal),
    ("approved", "id", Concerns.proposal),
    ("proposal_passed", "id", Concerns.proposal),
)


def _orgs(concerns: Concerns, parts: list[str]) -> Orgs:
    return frozenset(parts[:1])


def _first(resolve: _Resolve) -> Callable[[Concerns, list[str]], Orgs | None]:
    return lambda concerns, parts: resolve(concerns, parts[0])


def _money(concerns: Concerns, parts: list[str]) -> Orgs | None:
    return concerns.balance(parts[1], parts[0]) if len(parts) == 2 else None


def _scope(concerns: Concerns, parts: list[str]) -> Orgs:
    scope = reader_scope(concerns.state, parts[0])
    return frozenset({parts[0], *(scope[0] if scope is not None else ())})


# (state key prefix, whom the rest of the key names); first match wins. Indexes by organization
# (`<prefix><org>/...`) concern that organization.
_KEY_SUBJECTS: tuple[tuple[str, Callable[[Concerns, list[str]], Orgs | None]], ...] = (
    ("cash/bal/", _money),
    ("cash/held/", _money),
    ("rcv/piece/", _first(Concerns.receivable)),
    ("rcv/offer/", _first(Concerns.offer)),
    ("rcv/offers/", _first(Concerns.receivable)),
    ("rcv/dispute/", _first(Concerns.receivable)),
    ("rcv/docshare/", _first(Concerns.receivable)),
    ("rcv/docshares/", _first(Concerns.receivable)),
    ("hold/piece/", _first(Concerns.receivable)),
    ("rcv/holder/", _orgs),
    ("rcv/debtor/", _orgs),
    ("rcv/creditor/", _orgs),
    ("hold/queue/", _orgs),
    ("hold/by_org/", _orgs),
    ("esc/rec/", _first(Concerns.escrow)),
    ("esc/by_org/", _orgs),
    ("pay/rec/", _first(Concerns.payment)),
    ("pay/by_org/", _orgs),
    ("pay/e2e/", _orgs),
    ("pay/used/", _orgs),
    ("net/win/", _first(Concerns.window)),
    ("net/ob/", _first(Concerns.window)),
    ("gov/prop/", _first(Concerns.proposal)),
    ("reg/org/", _first(Concerns.org)),
    ("reg/scope/", _scope),
)
