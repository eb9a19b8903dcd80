"""Issue 12, finding 4, on a real node: text that an ISO 20022 export cannot carry.

A remittance holding U+FFFF is refused when submitted (`BAD_ARGUMENT`, committed as failed, no
state key written). The first release took such text, so a chain may already hold it: the test
puts it into a payment record and a beneficiary's name in the node's own LevelDB while the node
is stopped, as that release would have left them, and starts the node again. Then
`GET /v1/payments/ID/iso20022` answers 200 with a pacs.008 that parses (and validates against
the official schema when it is present), the character replaced by U+FFFD, never a 5xx; and the
explorer's download of it answers 200, never 502.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest
from lxml import etree

from ledger import codec
from ledger.chain import P_STATE
from ledger.store import LevelDBStore
from node.ops import localnet as localnet_module
from tests.support.localnet_tools import signed_client
from tests.support.unchanged_state import assert_no_state_change_since
from tests.support.xborder_chain import pay_args
from wallet.errors import TxFailed
from wallet.localnet_keys import localnet_key

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TALLY = str(Path(sys.executable).with_name("tally"))
UNSTORABLE = "\uffff\ufdd0\x0b\x85"  # a noncharacter of each kind, a C0 and a C1 control
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09"}


def _schema() -> etree.XMLSchema | None:
    shared = os.environ.get("TALLY_SHARED")
    base = Path(shared) if shared else REPO.parent / "shared"
    path = base / "data" / "iso20022" / "pacs.008.001.09.xsd"
    return etree.XMLSchema(etree.parse(str(path))) if path.is_file() else None


def _rewrite_state(data_dir: Path, key: str, change: dict[str, Any]) -> None:
    """Overwrite fields of the record at `key` straight in a stopped node's store."""
    store = LevelDBStore(data_dir)
    try:
        raw = store.get(P_STATE + key.encode())
        assert raw is not None, key
        store.put(P_STATE + key.encode(), codec.encode({**codec.decode(raw), **change}), sync=True)
    finally:
        store.close()


@pytest.fixture
def explorer_for() -> Iterator[Any]:
    """Start `tally explorer` for a localnet (signed in as its auditor); every explorer started
    is stopped at teardown."""
    started: list[subprocess.Popen[str]] = []

    def start(localnet_dir: str) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        command = [TALLY, "explorer", "--localnet", localnet_dir, "--port", str(port)]
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stderr is not None
        for line in process.stderr:  # ends when the explorer exits
            if "ready on" in line:
                return f"http://127.0.0.1:{port}"
        raise AssertionError(f"the explorer exited with {process.wait()} before it was ready")

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_unexportable_text_is_refused_and_what_is_stored_still_exports(
    localnet: Any, explorer_for: Any
) -> None:
    net = localnet(nodes=1)
    client = signed_client(net["nodes"][0]["api"])
    payer = localnet_key(net, "acme-steel")
    funding = {"currency": "EUR", "to": "acme-steel", "amount": 1_000_000}
    client.call(localnet_key(net, "bank-b"), "cash", "issue", funding)

    mark = client.height()
    for bad in UNSTORABLE:
        with pytest.raises(TxFailed) as refused:
            client.call(payer, "payments", "send", pay_args(remittance=f"Invoice 42 {bad}"))
        assert refused.value.code == "BAD_ARGUMENT", refused.value.receipt
        assert f"U+{ord(bad):04X}" in refused.value.message
    assert_no_state_change_since(client, mark)

    payment_id = client.call(payer, "payments", "send", pay_args())["result"]["id"]
    directory, name = Path(net["dir"]), net["nodes"][0]["name"]
    localnet_module.stop_node(directory, name)
    beneficiary = {**pay_args()["beneficiary"], "name": f"Rhein{UNSTORABLE}Parts"}
    stored = {"remittance": f"Invoice 42 {UNSTORABLE}", "beneficiary": beneficiary}
    _rewrite_state(directory / name / "data", f"pay/rec/{payment_id}", stored)
    _rewrite_state(directory / name / "data", "reg/org/rhein-parts",
                   {"name": f"Rhein{UNSTORABLE}Parts"})  # fmt: skip
    localnet_module.start_node(directory, name)
    assert client.payment(payment_id)["remittance"] == f"Invoice 42 {UNSTORABLE}"

    exported = client.payment_iso20022(payment_id)  # raises on any error status
    document = etree.fromstring(exported)
    schema = _schema()
    assert schema is None or schema.validate(document), schema and schema.error_log
    transfer = "p:FIToFICstmrCdtTrf/p:CdtTrfTxInf/"
    remittance = document.find(transfer + "p:RmtInf/p:Ustrd", NS)
    assert remittance is not None and remittance.text == "Invoice 42 " + "\ufffd" * 4
    creditor = document.find(transfer + "p:Cdtr/p:Nm", NS)
    assert creditor is not None and creditor.text == "Rhein" + "\ufffd" * 4 + "Parts"

    explorer = explorer_for(net["dir"])
    with urlopen(f"{explorer}/payment/{payment_id}/pacs008.xml", timeout=30) as download:
        assert download.status == 200
        assert download.read() == exported
    with urlopen(f"{explorer}/payment/{payment_id}", timeout=30) as page:
        assert page.status == 200
