"""The read policy's pure parts: who a `Viewer` reads, and whom events and state keys concern.

The state here is a dict behind the `StateReader` interface (a fake inside one module's unit
test); tests/unit/test_access_api.py runs the same policy over a real chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contracts.concerns import EVERYONE, Concerns
from node.api.access_policy import FORMS, KINDS, ROUTES, TABLE
from node.api.readers import Viewer

ORGS = {
    "bank-a": {"kind": "bank", "jurisdiction": "CN"},
    "bank-b": {"kind": "bank", "jurisdiction": "DE"},
    "acme-steel": {"kind": "enterprise", "jurisdiction": "CN"},
    "rhein-parts": {"kind": "enterprise", "jurisdiction": "DE"},
    "audit-co": {"kind": "auditor", "jurisdiction": "CN"},
}


class DictState:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def state(self, key: str) -> Any:
        return self.values.get(key)

    def state_items(
        self, prefix: str, *, after: str | None = None, limit: int | None = None,
        reverse: bool = False,
    ) -> Iterator[tuple[str, Any]]:  # fmt: skip
        found = sorted((k, v) for k, v in self.values.items() if k.startswith(prefix))
        yield from (reversed(found) if reverse else found)


def _concerns(**extra: Any) -> Concerns:
    values: dict[str, Any] = {f"reg/org/{org}": {"id": org, **r} for org, r in ORGS.items()}
    values["reg/cur/CNY"] = {"code": "CNY", "decimals": 2, "issuers": ["bank-a"]}
    values["reg/cur/EUR"] = {"code": "EUR", "decimals": 2, "issuers": ["bank-b"]}
    values["reg/banks"] = ["bank-a", "bank-b"]
    values.update(extra)
    return Concerns(DictState(values))


PAYMENT = KINDS["payment"]
DOCUMENT = KINDS["document"]


def test_the_open_api_and_an_unscoped_auditor_read_everything() -> None:
    concerns = _concerns()
    for viewer in (Viewer(None), Viewer("audit-co", reader=True)):
        assert viewer.sees_all(PAYMENT)
        assert viewer.reads(PAYMENT, frozenset({"bank-b"}), concerns)
        assert viewer.reads(PAYMENT, None, concerns)  # a missing record: the route's own 404


def test_an_organization_reads_what_concerns_it_or_everyone() -> None:
    concerns, viewer = _concerns(), Viewer("acme-steel")
    assert not viewer.sees_all(PAYMENT)
    assert viewer.reads(PAYMENT, frozenset({"acme-steel", "bank-a"}), concerns)
    assert viewer.reads(PAYMENT, EVERYONE, concerns)
    assert not viewer.reads(PAYMENT, frozenset({"rhein-parts", "bank-b"}), concerns)
    assert not viewer.reads(PAYMENT, None, concerns)


def test_a_scoped_reader_reads_its_organizations_and_jurisdictions_only() -> None:
    concerns = _concerns()
    by_org = Viewer("audit-co", reader=True, scope=(frozenset({"rhein-parts"}), frozenset()))
    by_place = Viewer("audit-co", reader=True, scope=(frozenset(), frozenset({"DE"})))
    for viewer in (by_org, by_place):
        assert not viewer.sees_all(PAYMENT)
        assert viewer.reads(PAYMENT, frozenset({"rhein-parts", "bank-a"}), concerns)
        assert not viewer.reads(PAYMENT, frozenset({"acme-steel", "bank-a"}), concerns)
        assert not viewer.reads(PAYMENT, None, concerns)
    assert by_place.reads(PAYMENT, frozenset({"bank-b"}), concerns)  # a DE bank
    assert not by_org.reads(PAYMENT, frozenset({"bank-b"}), concerns)


def test_a_document_is_for_its_readers_even_against_an_auditor() -> None:
    concerns, auditor = _concerns(), Viewer("audit-co", reader=True)
    assert not auditor.sees_all(DOCUMENT)
    assert not auditor.reads(DOCUMENT, frozenset({"acme-steel"}), concerns)
    assert auditor.reads(DOCUMENT, frozenset({"acme-steel", "audit-co"}), concerns)


def test_a_cash_movement_concerns_its_parties_and_their_bank_in_its_currency() -> None:
    concerns = _concerns()
    event = {"type": "transferred", "currency": "EUR", "payer": "acme-steel", "to": "rhein-parts"}
    assert concerns.event(event) == {"acme-steel", "rhein-parts", "bank-b"}
    issued = {"type": "issued", "currency": "CNY", "to": "acme-steel", "by": "bank-a"}
    assert concerns.event(issued) == {"acme-steel", "bank-a"}


def test_a_receivable_event_concerns_the_whole_family() -> None:
    root = {
        "id": "r",
        "root": "r",
        "children": ["c"],
        "creditor": "acme-steel",
        "debtor": "rhein-parts",
        "holder": "acme-steel",
        "history": [],
        "financing": None,
    }
    child = {**root, "id": "c", "children": [], "holder": "bank-b", "financed_by": "bank-b",
             "history": [{"holder": "audit-co"}]}  # fmt: skip
    concerns = _concerns(**{"rcv/piece/r": root, "rcv/piece/c": child})
    event = {"type": "receivable_accepted", "id": "r", "debtor": "rhein-parts"}
    assert concerns.event(event) == {"acme-steel", "rhein-parts", "bank-b", "audit-co"}
    assert concerns.receivable("c") == concerns.receivable("r")
    assert concerns.receivable("missing") is None


def test_directory_events_concern_everyone_and_unknown_ones_what_they_name() -> None:
    concerns = _concerns()
    assert concerns.event({"type": "key_added", "org": "acme-steel"}) == EVERYONE
    assert concerns.event({"type": "something_new", "org": "acme-steel"}) == {"acme-steel"}


@pytest.mark.parametrize(
    ("key", "parties"),
    [
        ("cash/bal/EUR/rhein-parts", {"rhein-parts", "bank-b"}),
        ("rcv/holder/acme-steel/ab", {"acme-steel"}),
        ("pay/by_org/rhein-parts/0000000000000001/ab", {"rhein-parts"}),
        ("reg/org/acme-steel", {"acme-steel"}),
        ("reg/key/ab", EVERYONE),
        ("fx/open/ab", EVERYONE),
        ("pay/rec/missing", None),
        ("no/such/contract", None),  # only an unscoped reader reads what nobody claims
    ],
)
def test_state_keys_concern_what_their_record_concerns(key: str, parties: Any) -> None:
    assert _concerns().state_key(key) == parties


def test_every_row_of_the_table_names_a_kind_and_a_form_and_routes_are_unique() -> None:
    assert len(TABLE) == len(ROUTES)
    for row in ROUTES:
        assert row.kind in KINDS and row.form in FORMS, row
        assert (row.subject is not None) == (row.form == "record"), row
