"""Every contract module, imported so its methods register, and the genesis state."""

from __future__ import annotations

import importlib
from typing import Any

from contracts import cash, registry  # noqa: F401  (registration by import)
from contracts.runtime import METHODS, Method
from ledger.genesis import Genesis

# Contract modules added by later work register here too; missing ones are skipped so the
# catalog loads while they are being written.
_OPTIONAL_MODULES = (
    "contracts.governance",
    "contracts.receivables",
    "contracts.fx",
    "contracts.payments",
    "contracts.netting",
)
for _name in _OPTIONAL_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as _error:
        if _error.name != _name:
            raise


def genesis_state(genesis: Genesis) -> dict[str, Any]:
    return registry.genesis_state(genesis)


def methods() -> dict[tuple[str, str], Method]:
    return dict(METHODS)
