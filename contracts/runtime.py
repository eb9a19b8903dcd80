"""The contract runtime: the method table, the per-call `Context`, and `apply_tx`.

A call runs against a child overlay of the block's state; it lands only if the method returns
(and the executor, which merges it, finds its writes encodable). Any `ContractError` (or,
defensively, any other exception: still deterministic) leaves a failed receipt and no writes.
The caller's organization is the one its signing key belongs to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from contracts.args import Optional, Validator, validate_args
from contracts.errors import ContractError, ensure
from ledger.hashing import sha256
from ledger.state import Reader, StateOverlay
from ledger.types import ErrorInfo, TxBody

WRITE_ROLES = ("admin", "operator")


@dataclass(frozen=True, slots=True)
class BlockInfo:
    chain: str
    height: int
    time_ms: int


@dataclass(frozen=True, slots=True)
class Caller:
    key: bytes
    org: str
    role: str
    kind: str


class Context:
    """What a contract method sees: its caller, the block, state access and events."""

    __slots__ = ("_counter", "block", "caller", "contract", "events", "state", "tx_id")

    def __init__(
        self,
        state: StateOverlay,
        block: BlockInfo,
        caller: Caller,
        tx_id: bytes,
        contract: str,
    ) -> None:
        self.state = state
        self.block = block
        self.caller = caller
        self.tx_id = tx_id
        self.contract = contract
        self.events: list[dict[str, Any]] = []
        self._counter = 0

    @property
    def sender_org(self) -> str:
        return self.caller.org

    @property
    def height(self) -> int:
        return self.block.height

    @property
    def time_ms(self) -> int:
        return self.block.time_ms

    def today(self) -> str:
        """Block time as an ISO date (UTC): what dates in contracts are compared with."""
        return iso_day(self.block.time_ms)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.state.get(key)
        return default if value is None else value

    def put(self, key: str, value: Any) -> None:
        self.state.put(key, value)

    def delete(self, key: str) -> None:
        self.state.delete(key)

    def emit(self, kind: str, **fields: Any) -> None:
        """Record an event; `contract` and `type` are added so indexers can route it."""
        self.events.append({"contract": self.contract, "type": kind, **fields})

    def new_id(self) -> str:
        """A fresh object id: sha256(tx id || counter), the same on every replica."""
        self._counter += 1
        return sha256(self.tx_id + self._counter.to_bytes(4, "big")).hex()


@lru_cache(maxsize=64)
def iso_day(time_ms: int) -> str:
    """The UTC date of a block time; a block's transactions ask it many times over."""
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).date().isoformat()


Handler = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Method:
    contract: str
    name: str
    args: dict[str, Validator | Optional]
    roles: tuple[str, ...]
    kinds: tuple[str, ...] | None
    handler: Handler = field(compare=False)
    doc: str = ""


METHODS: dict[tuple[str, str], Method] = {}


def method(
    contract: str,
    name: str,
    args: dict[str, Validator | Optional],
    *,
    roles: tuple[str, ...] = WRITE_ROLES,
    kinds: tuple[str, ...] | None = None,
) -> Callable[[Handler], Handler]:
    """Register `handler(ctx, **args)` as `contract.name`, callable by `roles` of `kinds`."""

    def register(handler: Handler) -> Handler:
        key = (contract, name)
        if key in METHODS:
            raise RuntimeError(f"{contract}.{name} registered twice")
        doc = (handler.__doc__ or "").strip().splitlines()
        METHODS[key] = Method(contract, name, args, roles, kinds, handler, doc[0] if doc else "")
        return handler

    return register


@dataclass(frozen=True, slots=True)
class TxOutcome:
    status: str
    error: ErrorInfo | None
    events: tuple[dict[str, Any], ...]
    result: Any
    call_state: StateOverlay | None = None  # the call's writes, on success: not merged yet


def resolve_caller(read: Reader, key: bytes) -> Caller:
    """Who signs with `key` in the state `read` sees; UNKNOWN_SIGNER or ORG_SUSPENDED if nobody
    may. The node's mempool asks the same over committed state before admitting a tx."""
    record = read("reg/key/" + key.hex())
    ensure(record is not None, "UNKNOWN_SIGNER", "the signing key belongs to no organization")
    org = read("reg/org/" + record["org"])
    ensure(org is not None, "UNKNOWN_SIGNER", "the signing key's organization does not exist")
    ensure(
        not org.get("suspended", False), "ORG_SUSPENDED", f"organization {org['id']} is suspended"
    )
    return Caller(key=key, org=record["org"], role=record["role"], kind=org["kind"])


def apply_tx(block_state: Reader, block: BlockInfo, tx_id: bytes, body: TxBody) -> TxOutcome:
    """Run one transaction's call over the block's state so far; on success its writes are in
    `call_state`, for the caller to merge into the block once it has checked them."""
    call_state = StateOverlay(block_state, remember_reads=True)
    try:
        spec = METHODS.get((body.contract, body.method))
        if spec is None:
            raise ContractError("UNKNOWN_METHOD", f"no method {body.contract}.{body.method}")
        caller = resolve_caller(call_state.get, body.sender)
        ensure(
            caller.role in spec.roles,
            "NOT_AUTHORIZED",
            f"role {caller.role!r} may not call {spec.contract}.{spec.name}",
        )
        ensure(
            spec.kinds is None or caller.kind in spec.kinds,
            "NOT_AUTHORIZED",
            f"only a {' or '.join(spec.kinds or ())} may call {spec.contract}.{spec.name}",
        )
        args = validate_args(spec.args, body.args)
        ctx = Context(call_state, block, caller, tx_id, spec.contract)
        result = spec.handler(ctx, **args)
    except ContractError as error:
        return TxOutcome("failed", ErrorInfo(error.code, error.message, error.details), (), None)
    except Exception as error:  # a contract bug: deterministic, so every replica agrees
        message = f"{type(error).__name__}: {error}"[:200]
        return TxOutcome("failed", ErrorInfo("CONTRACT_FAULT", message), (), None)
    return TxOutcome("ok", None, tuple(ctx.events), result, call_state)
