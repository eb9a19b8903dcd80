"""docs/sdk-reference.md is what docs/gen_sdk.py writes from the SDK's docstrings today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_sdk_reference_is_regenerated_from_the_docstrings() -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "gen_sdk.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr + " (run .venv/bin/python docs/gen_sdk.py)"
    reference = (ROOT / "docs" / "sdk-reference.md").read_text()
    for name in ("class `Client(", "wait_for_receipt(", "class `RetryPolicy(", "class `Signer("):
        assert name in reference
