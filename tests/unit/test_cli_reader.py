"""Who a `tally` command reads as (wallet/cli/reader.py): its own signer, else the localnet's
auditor (said on stderr), else nobody; the options' conflicts are usage errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from node.ops.layout import init_network
from wallet.cli import reader
from wallet.cli.nodes import UsageProblem, read_localnet
from wallet.errors import ApiError
from wallet.localnet_keys import localnet_key


@pytest.fixture
def net(tmp_path: Path) -> dict[str, Any]:
    init_network(tmp_path, 1)  # files only: nothing is started
    return read_localnet(str(tmp_path))


def test_a_reading_command_reads_as_the_localnets_auditor_and_says_so(
    net: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    signer = reader.chosen_signer(net["_dir"], None, None)
    assert signer is not None and signer.public_key == localnet_key(net, "audit-co").public
    assert "reading as audit-co, the localnet's auditor" in capsys.readouterr().err


def test_as_org_reads_as_that_org_quietly(
    net: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    signer = reader.chosen_signer(net["_dir"], "acme-steel", None)
    assert signer is not None and signer.public_key == localnet_key(net, "acme-steel").public
    assert capsys.readouterr().err == ""


def test_the_commands_own_signer_signs_its_requests(net: dict[str, Any]) -> None:
    key = localnet_key(net, "bank-c", "admin")
    signer = reader.request_signer(lambda: key, net)
    assert signer is not None and signer.public_key == key.public


def test_no_localnet_and_no_signer_is_unsigned() -> None:
    assert reader.chosen_signer(None, None, None) is None


@pytest.mark.parametrize(
    ("as_org", "keystore", "code"),
    [("acme-steel", "k.json", "SIGNER_CONFLICT"), ("acme-steel", None, "NO_LOCALNET")],
)
def test_bad_reader_options_are_usage_errors(as_org: str, keystore: str | None, code: str) -> None:
    with pytest.raises(UsageProblem) as refused:
        reader.chosen_signer(None, as_org, keystore)
    assert refused.value.code == code


def test_an_unsigned_refusal_says_how_to_sign_and_stays_the_nodes_answer() -> None:
    refusal = ApiError("UNAUTHENTICATED", "this node answers signed requests only", 401)
    explained = reader.explained(refusal)
    assert isinstance(explained, ApiError) and explained.status == 401
    assert explained.code == "UNAUTHENTICATED" and "--keystore FILE" in explained.message
    other = ApiError("NOT_FOUND", "no such payment", 404)
    assert reader.explained(other) is other
