"""Every contract module, imported so its methods register, and the genesis state."""

from __future__ import annotations

from typing import Any

from contracts import (  # noqa: F401  (registration by import)
    cash,
    devclock,
    escrow,
    fx,
    governance,
    membership,
    netting,
    payments,
    receivables,
    receivables_disputes,
    receivables_documents,
    receivables_repay,
    registry,
)
from contracts.runtime import METHODS, Method
from ledger.genesis import Genesis


def genesis_state(genesis: Genesis) -> dict[str, Any]:
    return {
        **registry.genesis_state(genesis),
        **devclock.genesis_state(genesis),
        **membership.genesis_state(genesis),
    }


def methods() -> dict[tuple[str, str], Method]:
    return dict(METHODS)
