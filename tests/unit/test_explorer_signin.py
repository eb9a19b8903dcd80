"""The explorer signed in as an organization, against the node's own app in `members` mode
(DESIGN.md §9): every request it makes is signed (the node checks the signatures itself), the
header says who reads, and a record the node keeps from that organization is a clear
"not visible" page, never a 500. The chain is a real LevelDB chain the contracts built."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from explorer.app import make_app
from node.api.access import MEMBERS_ACCESS
from node.api.app import make_app as make_node_app
from tests.support.contract_chain import ContractChain
from tests.support.receivables_flow import issue_accepted
from tests.support.solo_node import solo_handle
from tests.support.xborder_chain import pay_args
from tests.unit.test_explorer_handlers import _run_isolated
from wallet.async_client import AsyncClient
from wallet.errors import ApiError
from wallet.request_signing import RequestSigner

Page = Callable[[str], Awaitable[tuple[int, str]]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ContractChain, Any]]:
    """fuel-co's invoice to bigauto, and bigauto's payment to fuel-co: none of acme-steel's."""
    chain = ContractChain(Path(tmp_path_factory.mktemp("explorer-signin")) / "db")
    chain.fund("bigauto", "CNY", 10**9)
    receivable = issue_accepted(chain, "fuel-co", invoice_no="FC-7")
    args = pay_args(to="fuel-co", currency="CNY", end_to_end_id="E2E-FUEL")
    paid = chain.submit("bigauto", "payments", "send", args)
    yield chain, {"receivable": receivable, "payment": paid.result["id"], "height": paid.height}
    chain.close()


def _browse(chain: ContractChain, org: str | None, paths: list[str]) -> list[tuple[int, str]]:
    """Each page of an explorer signed in as `org` (None: signing nothing)."""

    async def main() -> list[tuple[int, str]]:
        validator = chain.devnet.validators[0]
        handle = solo_handle(chain.store, chain.executor, chain.genesis, validator)
        node = TestServer(make_node_app(handle, access=MEMBERS_ACCESS))
        await node.start_server()
        signer = None if org is None else RequestSigner.of(chain.devnet.key(org, "operator"))
        app = make_app(
            str(node.make_url("")),
            chain.genesis,
            genesis_verified=True,
            follow=False,
            request_signer=signer,
        )
        try:
            async with TestClient(TestServer(app)) as client:
                pages = []
                for path in paths:
                    response = await client.get(path, allow_redirects=False)
                    pages.append((response.status, await response.text()))
                return pages
        finally:
            await node.close()

    pages: list[tuple[int, str]] = _run_isolated(main())
    for status, text in pages:
        assert status < 500 or status == 502, text[:400]
        assert "Traceback" not in text
    return pages


@pytest.mark.parametrize(
    ("org", "kind", "shown"), [("acme-steel", "enterprise", False), ("audit-co", "auditor", True)]
)
def test_a_payment_and_receivable_of_others_show_only_to_an_auditor(
    world: Any, org: str, kind: str, shown: bool
) -> None:
    chain, ids = world
    paths = ["/", f"/payment/{ids['payment']}", f"/receivable/{ids['receivable']}"]
    (home, dashboard), *records = _browse(chain, org, paths)
    assert home == 200 and f"signed in as {org} ({kind})" in dashboard
    for (status, text), words in zip(records, ("E2E-FUEL", "FC-7"), strict=True):
        assert f"signed in as {org}" in text
        if shown:
            assert status == 200 and words in text
        else:
            assert status == 404 and f"Not visible to {org}" in text and words not in text


def test_a_block_of_others_txs_recomputes_its_roots_from_the_leaves(world: Any) -> None:
    chain, ids = world
    ((status, page),) = _browse(chain, "acme-steel", [f"/block/{ids['height']}"])
    assert status == 200
    assert "1 txs withheld (not visible to acme-steel)" in page
    assert "recomputed over 1 transaction(s), 1 from the node&#39;s leaf hashes" in page
    assert "does not match" not in page and "differs from the header" not in page


def test_an_explorer_that_signs_nothing_is_told_to_sign_in(world: Any) -> None:
    chain, _ = world
    ((status, page),) = _browse(chain, None, ["/"])
    assert status == 502 and "tally explorer --keystore FILE" in page


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--as", "acme-steel", "--node", "http://127.0.0.1:9"], "NO_LOCALNET: --as needs"),
        ([], "NO_NODE: say which node"),
        (["--localnet", "{dir}", "--keystore", "{keystore}"], "SIGNER_CONFLICT"),
        (["--localnet", "{dir}"], "NO_AUDITOR"),
        (["--localnet", "{dir}", "--as", "nobody"], "UNKNOWN_ORG"),
        (["--localnet", "{dir}", "--as", "acme-steel"], "NO_NODE: {dir} lists no node"),
    ],
)
def test_the_command_says_how_to_sign_in(tmp_path: Path, args: list[str], words: str) -> None:
    """Bad sign-in options are a coded error before anything is served, never a traceback."""
    from click.testing import CliRunner

    from explorer.cli import explorer_command

    seed = "00" * 32
    acme = {"id": "acme-steel", "kind": "enterprise", "keys": [{"role": "operator", "seed": seed}]}
    (tmp_path / "localnet.json").write_text(json.dumps({"nodes": [], "orgs": [acme]}))
    keystore = tmp_path / "key.json"
    keystore.write_text("{}")
    filled = [a.format(dir=tmp_path, keystore=keystore) for a in args]
    result = CliRunner().invoke(explorer_command, filled)
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)
    assert words.format(dir=tmp_path) in result.output, result.output


def test_the_node_stream_opens_only_for_a_signed_in_explorer(world: Any) -> None:
    """The live stream (GET /v1/stream) is signed like every read: 200 signed, 401 not."""
    chain, _ = world

    async def main() -> list[int]:
        handle = solo_handle(chain.store, chain.executor, chain.genesis, chain.devnet.validators[0])
        node = TestServer(make_node_app(handle, access=MEMBERS_ACCESS))
        await node.start_server()
        statuses = []
        for signer in (RequestSigner.of(chain.devnet.key("acme-steel", "operator")), None):
            async with AsyncClient(str(node.make_url("")), request_signer=signer) as client:
                try:
                    async with client.open_stream() as response:
                        statuses.append(response.status)
                except ApiError as error:
                    statuses.append(error.status)
        await node.close()
        return statuses

    assert _run_isolated(main()) == [200, 401]
