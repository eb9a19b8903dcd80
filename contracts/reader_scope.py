"""What an auditor or regulator may read: everything, until governance scopes it (DESIGN.md §9).

A consortium decision, so it is a registry proposal like any other change of the registry
(contracts/governance.py): `registry.propose(action="scope_reader", params={org, orgs,
jurisdictions})`, signed by a bank's admin key and passed by ⌈2b/3⌉ of the banks. Once passed,
the reader `org` reads only the records that concern one of `orgs`, or an organization whose
jurisdiction is one of `jurisdictions` (the node's read policy, node/api/access_policy.py);
`lift: true` (with both lists empty) gives it everything again. An empty scope is refused: a
reader scoped to nothing is a mistake, and an unscoped one reads everything.

State: reg/scope/<org> -> {orgs: [org ids, sorted], jurisdictions: [codes, sorted], tx, height}
"""

from __future__ import annotations

from typing import Any, Protocol

from contracts.args import boolean, jurisdiction, list_of, org_id
from contracts.errors import ensure
from contracts.registry import read_org
from contracts.runtime import Context


class StateReader(Protocol):
    """Committed state by key (contracts.queries imports governance, which imports this)."""

    def state(self, key: str) -> Any: ...


READER_KINDS = ("auditor", "regulator")
MAX_SCOPE = 64  # organizations, and jurisdictions, a scope may name
SCOPED_EVENT = "reader_scoped"


def scope_key(org: str) -> str:
    return "reg/scope/" + org


# action -> {param: (validator, required, default)}, merged into governance's table
SCHEMAS: dict[str, dict[str, tuple[Any, bool, Any]]] = {
    "scope_reader": {
        "org": (org_id, True, None),
        "orgs": (list_of(org_id, MAX_SCOPE), False, []),
        "jurisdictions": (list_of(jurisdiction, MAX_SCOPE), False, []),
        "lift": (boolean, False, False),
    },
}
ACTIONS = tuple(SCHEMAS)


def check_params(action: str, params: dict[str, Any]) -> None:
    """A scope names someone, or is lifted; never both, never neither."""
    if action != "scope_reader":
        return
    named = bool(params["orgs"] or params["jurisdictions"])
    ensure(
        named != params["lift"],
        "BAD_ARGUMENT",
        "scope_reader names orgs or jurisdictions, or lifts the scope (lift: true) with neither",
    )


def apply_change(ctx: Context, action: str, params: dict[str, Any]) -> None:
    """The deciding approval: record (or lift) the reader's scope, and say so in an event."""
    reader = params["org"]
    record = read_org(ctx, reader)
    ensure(
        record["kind"] in READER_KINDS,
        "NOT_A_READER",
        f"{reader} is a {record['kind']}: only auditors and regulators read beyond their own "
        "records, so only they are scoped",
    )
    orgs = sorted(set(params["orgs"]))
    for org in orgs:
        read_org(ctx, org)  # UNKNOWN_ORG for a name no organization has
    jurisdictions = sorted(set(params["jurisdictions"]))
    if params["lift"]:
        ctx.delete(scope_key(reader))
    else:
        scope = {"orgs": orgs, "jurisdictions": jurisdictions}
        ctx.put(scope_key(reader), {**scope, "tx": ctx.tx_id.hex(), "height": ctx.height})
    ctx.emit(
        SCOPED_EVENT, org=reader, orgs=orgs, jurisdictions=jurisdictions, lifted=params["lift"]
    )


def reader_scope(state: StateReader, org: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """(orgs, jurisdictions) the reader `org` is scoped to; None when it is not scoped."""
    record = state.state(scope_key(org))
    if record is None:
        return None
    return frozenset(record["orgs"]), frozenset(record["jurisdictions"])
