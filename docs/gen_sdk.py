"""Write docs/sdk-reference.md, the Python SDK's API reference, from the docstrings.

    .venv/bin/python docs/gen_sdk.py           # rewrite the file
    .venv/bin/python docs/gen_sdk.py --check   # exit 1 when the file is not what it would write

tests/unit/test_sdk_reference.py runs the check, so a changed signature or docstring that is
not regenerated fails the suite. The output depends only on the code (no addresses, no dates).
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "sdk-reference.md"
ADDRESS = re.compile(r"<(?:function|object) ([\w.]+)[^>]* at 0x[0-9a-f]+>")
MODULES = (
    "wallet.client",
    "wallet.async_client",
    "wallet.async_results",
    "wallet.subscription",
    "wallet.async_subscription",
    "wallet.checkpoint",
    "wallet.sse",
    "wallet.timeouts",
    "wallet.failover",
    "wallet.results",
    "wallet.retry",
    "wallet.signer",
    "wallet.txbuilder",
    "wallet.offline_tx",
    "wallet.errors",
)


def _doc(thing: Any) -> str:
    """The docstring, cleaned; none for a dataclass's generated `Name(field: type, ...)`."""
    text = inspect.cleandoc(thing.__doc__) if thing.__doc__ else ""
    return "" if text.startswith(f"{getattr(thing, '__name__', '')}(") else text


def _signature(thing: Any) -> str:
    try:
        text = str(inspect.signature(thing)).replace("'", "")
    except (TypeError, ValueError):
        return "(...)"
    return ADDRESS.sub(r"<\1>", text)  # a default that is a function: its name, no address


def _members(module: Any) -> list[tuple[str, Any]]:
    """The module's own public classes and functions, in source order."""
    own = [
        (name, value)
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == module.__name__
    ]
    return sorted(own, key=lambda item: inspect.getsourcelines(item[1])[1])


def _class_lines(name: str, cls: type) -> list[str]:
    lines = [f"### class `{name}{_signature(cls)}`", "", _doc(cls), ""]
    for attr, value in vars(cls).items():
        if attr.startswith("_") and attr != "__init__":
            continue
        if isinstance(value, property):
            lines += [f"- `{attr}` (property): {_doc(value)}".rstrip(": "), ""]
        elif inspect.isfunction(value) or isinstance(value, staticmethod | classmethod):
            function = value.__func__ if isinstance(value, staticmethod | classmethod) else value
            text = _doc(function).replace("\n", "\n  ")
            lines += [f"- `{attr}{_signature(function)}`" + (f"\n  {text}" if text else ""), ""]
    return lines


def render() -> str:
    parts = [
        "# SDK reference",
        "",
        "Generated from the docstrings by `docs/gen_sdk.py` (do not edit by hand); the guide is",
        "[wallet.md](wallet.md#sdk).",
        "",
    ]
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        parts += [f"## `{module_name}`", "", _doc(module), ""]
        for name, value in _members(module):
            if inspect.isclass(value):
                parts += _class_lines(name, value)
            else:
                parts += [f"### `{name}{_signature(value)}`", "", _doc(value), ""]
    text = "\n".join(parts)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run docs/gen_sdk.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main(sys.argv[1:]))
