"""The wallet's escrow helpers: secrets and locks, hex and durations from people, and the secret
read back from a released escrow (wallet/escrow.py, wallet/cli/escrow.py)."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from ledger.errors import TallyError
from node.cli import tally
from wallet.cli.escrow import duration_ms
from wallet.escrow import condition_of, hex_bytes, new_secret, revealed_preimage


def test_two_secrets_differ_and_each_opens_its_own_lock() -> None:
    first, second = new_secret(), new_secret()
    assert first != second and len(first) == 32
    assert condition_of(first) == hashlib.sha256(first).digest() != condition_of(second)


def test_tally_escrow_secret_prints_a_preimage_and_its_condition() -> None:
    answer = json.loads(CliRunner().invoke(tally, ["escrow", "secret", "--json"]).output)
    assert hashlib.sha256(bytes.fromhex(answer["preimage"])).hexdigest() == answer["condition"]


@pytest.mark.parametrize(
    ("text", "ms"), [("90", 90_000), ("90s", 90_000), ("30m", 1_800_000), ("36h", 129_600_000),
                     ("2d", 172_800_000), (" 1h ", 3_600_000)],
)  # fmt: skip
def test_durations_read_as_people_write_them(text: str, ms: int) -> None:
    assert duration_ms(text, "--cancel-after") == ms


@pytest.mark.parametrize("text", ["", "1.5h", "-1h", "2w", "h", "1 h", "1234567890s"])
def test_a_bad_duration_is_refused_with_a_code(text: str) -> None:
    with pytest.raises(TallyError) as refused:
        duration_ms(text, "--cancel-after")
    assert refused.value.code == "BAD_DURATION"


def test_hex_from_people_is_checked_for_digits_and_length() -> None:
    assert hex_bytes("0xABcd", "--preimage") == b"\xab\xcd"
    for text, length in (("zz", None), ("", None), ("ab" * 31, 32)):
        with pytest.raises(TallyError) as refused:
            hex_bytes(text, "--condition", length)
        assert refused.value.code == "BAD_HEX"


def test_the_revealed_secret_is_taken_only_from_a_release_it_opens() -> None:
    secret = new_secret()
    released = {"id": "e1", "status": "released", "preimage": secret.hex(),
                "condition": condition_of(secret).hex()}  # fmt: skip
    assert revealed_preimage(released) == secret
    assert revealed_preimage({**released, "status": "open", "preimage": None}) is None
    with pytest.raises(TallyError):
        revealed_preimage({**released, "preimage": new_secret().hex()})
