"""Browser tests: a real localnet, a story on it, `tally explorer` as a process, headless Chromium.

Chromium is Debian's (/usr/bin/chromium) driven by Playwright; nothing is downloaded. Without it
the tests skip on a developer machine and fail in CI (CI=true), where it must be installed.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from node.ops import localnet as localnet_ops
from node.ops.localnet_access import localnet_client
from tests.browser.story import Story, load
from wallet.client import Client
from wallet.keystore import INTERACTIVE, save_keystore
from wallet.localnet_keys import localnet_key

NODES = 4  # the development consortium: Bank A–D validate
AUDITOR = "audit-co"  # reads everything: the explorer and the story's client sign as it
PASSPHRASE = "browser tests only"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
TALLY = str(Path(sys.executable).with_name("tally"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_line(process: subprocess.Popen[str], needle: str) -> None:
    """Read the child's stderr until it says it is ready (or dies)."""
    assert process.stderr is not None
    for line in process.stderr:
        if needle in line:
            return
    raise RuntimeError(f"process exited before printing {needle!r} (code {process.wait()})")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium) - browser tests skipped")
    try:
        import playwright  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("playwright is not installed")
        pytest.skip("playwright not installed (pip install playwright) - browser tests skipped")
    return CHROMIUM


@pytest.fixture(scope="session")
def localnet(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[Any]:
    """A NODES-validator development consortium whose API answers only signed requests
    (`api.access = "members"`, a localnet's default, DESIGN.md §9); always taken down."""
    directory = tmp_path_factory.mktemp("localnet")
    base = random.randrange(20000, 40000, 10)
    subprocess.run(
        [TALLY, "localnet", "up", "--nodes", str(NODES), "--dir", str(directory),
         "--base-port", str(base), "--fresh", "--json"],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    try:
        net = json.loads((directory / "localnet.json").read_text())
        net["_dir"] = str(directory)
        yield net
    finally:
        localnet_ops.down(directory)


def signed_client(localnet: Any, url: str | None = None, org: str = AUDITOR) -> Client:
    """A client of the localnet (its first node, or `url`) signing its requests as `org`."""
    return localnet_client(localnet, url, org=org)


@pytest.fixture(scope="session")
def node_url(localnet: Any) -> str:
    return str(localnet["nodes"][0]["api"])


@pytest.fixture(scope="session")
def story(localnet: Any, node_url: str) -> Story:
    return load(signed_client(localnet, node_url), localnet)


def keystore_of(localnet: Any, org: str) -> str:
    """A keystore file of `org`'s operator key (passphrase PASSPHRASE), made once."""
    path = Path(localnet["_dir"]) / "keystores" / f"{org}.json"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        key = localnet_key(localnet, org)
        save_keystore(path, key, PASSPHRASE, org=org, cost=INTERACTIVE)
    return str(path)


def start_explorer(
    node: str, genesis: str | None, localnet: Any, as_org: str = AUDITOR
) -> tuple[subprocess.Popen[str], str]:
    """`tally explorer` for `node`, signed in with `as_org`'s keystore."""
    port = _free_port()
    command = [TALLY, "explorer", "--node", node, "--port", str(port),
               "--keystore", keystore_of(localnet, as_org)]  # fmt: skip
    if genesis:
        command += ["--genesis", genesis]
    environment = {**os.environ, "TALLY_PASSPHRASE": PASSPHRASE}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environment)
    _wait_for_line(process, "ready on")
    return process, f"http://127.0.0.1:{port}"


def start_localnet_explorer(localnet: Any, as_org: str) -> tuple[subprocess.Popen[str], str]:
    """`tally explorer --localnet DIR --as ORG`: the development way to sign in."""
    port = _free_port()
    command = [TALLY, "explorer", "--localnet", localnet["_dir"], "--as", as_org,
               "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    _wait_for_line(process, "ready on")
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def explorer(localnet: Any, node_url: str, story: Story) -> Iterator[str]:
    process, url = start_explorer(node_url, localnet["genesis"], localnet)
    try:
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread until it
    stops, which would break later tests that call asyncio.run()."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def start_tamper_proxy(upstream: str, height: int, mode: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.browser.tamper_proxy", "--upstream", upstream,
         "--port", "0", "--height", str(height), "--mode", mode],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(ROOT),
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("ready "):
            return process, line.split()[-1]
    raise RuntimeError("tamper proxy did not start")
