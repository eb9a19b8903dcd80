"""Verifiable state on real processes (DESIGN.md §6): a 4-validator localnet with receivables
and payments loaded agrees on every state_root; proofs from every node, of balances, a
receivable piece and an absent key, verify offline against the genesis file; `tally audit
balance|verify-state` print the value and the check, and fail against a node that lies about a
value; a node wiped and restarted catches up by replay to the same root."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger.genesis import load_genesis
from node.ops import localnet as localnet_module
from tests.browser.story import Story, load
from tests.support.localnet_tools import remember, signed_client, wait_until
from wallet.client import Client

pytestmark = pytest.mark.slow

TALLY = str(Path(sys.executable).with_name("tally"))
ROOT = Path(__file__).resolve().parents[2]  # where `python -m tests.browser.tamper_proxy` runs
ABSENT = "cash/bal/CNY/nobody-at-all"
PIECE_FIELDS = ("id", "holder", "amount", "status", "debtor", "currency")


def tally(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TALLY, *args], capture_output=True, text=True, timeout=120)


def _settled(apis: list[str]) -> tuple[int, str]:
    """Once no tx is in flight, every node's (height, state_root) is the same."""

    def same() -> tuple[int, str] | None:
        tips = {(s["height"], s["state_root"]) for s in (signed_client(a).status() for a in apis)}
        return next(iter(tips)) if len(tips) == 1 else None

    settled: tuple[int, str] = wait_until(same, 120, "every node at the same height and root")
    return settled


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("state-e2e")
    net = remember(localnet_module.up(directory, 4))
    try:
        apis = [node["api"] for node in net["nodes"]]
        story = load(signed_client(apis[0]), {**net, "dir": str(directory)})
        assert story.receivable_piece and story.payment_id, "the story needs both contracts"
        yield directory, net, apis, story, load_genesis(net["genesis"])
    finally:
        localnet_module.down(directory, grace=5.0)


def test_every_node_has_the_same_state_root_and_proves_it_offline(loaded) -> None:
    _, _, apis, story, genesis = loaded
    height, root = _settled(apis)
    assert height >= len(story.tx_ids)
    for api in apis:
        client = signed_client(api, genesis=genesis)
        assert client.block(height)["state_root"] == root
        bigauto = client.verified_balance("bigauto", "CNY", height)
        acme = client.verified_balance("acme-steel", "CNY", height)
        piece = client.verified_piece(story.receivable_piece, height)
        absent = client.verified_state(ABSENT, height)
        for state in (bigauto, acme, piece, absent):
            assert state.height == height and state.state_root.hex() == root
            assert len(state.signers) >= genesis.quorum == 3
        assert bigauto.value == _listed_balance(client, "bigauto", "CNY")
        assert acme.value == _listed_balance(client, "acme-steel", "CNY") > 0
        assert piece.present and piece.value["id"] == story.receivable_piece
        assert {name: piece.value[name] for name in PIECE_FIELDS} == _stored_piece(client, story)
        assert not absent.present and absent.value is None


def _listed_balance(client: Client, org: str, currency: str) -> int:
    return int(client.org(org)["balances"].get(currency, 0))


def _stored_piece(client: Client, story: Story) -> dict[str, Any]:
    """The piece's fields as the node's (unproved) read model shows them."""
    shown = client.receivable(story.receivable_piece)
    return {name: shown[name] for name in PIECE_FIELDS}


def test_tally_audit_prints_a_verified_balance_and_piece(loaded, monkeypatch) -> None:
    monkeypatch.setenv("TALLY_LOCALNET", str(loaded[0]))  # --node commands read with its keys
    _, net, apis, story, _ = loaded
    _settled(apis)
    node = apis[2]
    human = tally("audit", "balance", "acme-steel", "CNY", "--node", node,
                  "--genesis", net["genesis"])  # fmt: skip
    assert human.returncode == 0, human.stdout + human.stderr
    held = _listed_balance(signed_client(node), "acme-steel", "CNY")
    whole, cents = divmod(held, 100)
    assert f"acme-steel holds {whole:,}.{cents:02d} CNY at height" in human.stdout
    assert "quorum 3" in human.stdout and human.stdout.strip().endswith("verified")
    scripted = tally("audit", "balance", "acme-steel", "CNY", "--node", node,
                     "--genesis", net["genesis"], "--json")  # fmt: skip
    answer = json.loads(scripted.stdout)
    assert answer["ok"] and answer["value"] == held and answer["quorum"] == 3
    key = f"rcv/piece/{story.receivable_piece}"
    piece = tally("audit", "verify-state", key, "--node", node, "--genesis", net["genesis"],
                  "--json")  # fmt: skip
    assert piece.returncode == 0, piece.stdout + piece.stderr
    assert json.loads(piece.stdout)["value"]["id"] == story.receivable_piece
    shown = tally("audit", "verify-state", key, "--node", node, "--genesis", net["genesis"])
    assert shown.returncode == 0 and shown.stdout.strip().endswith("verified")
    assert (
        f"piece held by {signed_client(node).receivable(story.receivable_piece)['holder']}, "
        in (shown.stdout)
    )
    absent = tally("audit", "verify-state", ABSENT, "--node", node, "--genesis", net["genesis"])
    assert absent.returncode == 0 and "(absent)" in absent.stdout


def test_tally_audit_fails_against_a_node_that_lies_about_a_value(loaded, monkeypatch) -> None:
    monkeypatch.setenv("TALLY_LOCALNET", str(loaded[0]))
    _, net, apis, _, _ = loaded
    proxy = subprocess.Popen(
        [sys.executable, "-m", "tests.browser.tamper_proxy", "--upstream", apis[1],
         "--port", "0", "--height", "1", "--mode", "value"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(ROOT),
    )  # fmt: skip
    try:
        assert proxy.stdout is not None
        url = proxy.stdout.readline().split()[-1]
        human = tally("audit", "balance", "bigauto", "CNY", "--node", url,
                      "--genesis", net["genesis"])  # fmt: skip
        assert human.returncode == 1
        assert "FAIL  state_root" in human.stdout and "VERIFICATION FAILED" in human.stdout
        scripted = tally("audit", "verify-state", ABSENT, "--node", url,
                         "--genesis", net["genesis"], "--json")  # fmt: skip
        assert scripted.returncode == 1
        report = json.loads(scripted.stdout)
        assert not report["ok"] and report["error"]["code"] == "STATE_NOT_VERIFIED"
        assert [c["name"] for c in report["checks"] if not c["ok"]] == ["state_root"]
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)


def test_a_wiped_node_catches_up_by_replay_to_the_same_root(loaded) -> None:
    directory, net, apis, story, genesis = loaded
    height, root = _settled(apis)
    name = net["nodes"][3]["name"]
    localnet_module.stop_node(directory, name)
    shutil.rmtree(directory / name / "data")
    localnet_module.start_node(directory, name)
    wiped = signed_client(apis[3], genesis=genesis)
    wait_until(lambda: wiped.height() >= height, 120, f"{name} back at height {height}")
    assert wiped.block(height)["state_root"] == root
    assert _settled(apis) == (height, root)
    balance = wiped.verified_balance("bigauto", "CNY", height)
    assert (
        balance.value
        == signed_client(apis[0], genesis=genesis).verified_balance("bigauto", "CNY", height).value
    )
    assert wiped.verified_piece(story.receivable_piece).present
