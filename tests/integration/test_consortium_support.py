"""Helpers for consortium tests: four banks as separate key holders, real node processes.

Each bank's folder is what that bank's machine holds; only public files are copied to the
coordinator's folder, and genesis.json is copied back. `secrets_in` lists every secret a folder
holds, so a test can show no folder ever holds another bank's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wallet.request_signing import RequestSigner, signed_headers

PASSPHRASE = "consortium test passphrase"
BANKS = ("bank-a", "bank-b", "bank-c", "bank-d")
READY_S = 60.0


def tally(*args: str, cwd: Path, prefix: Sequence[str] = ()) -> str:
    """Run the `tally` CLI as a bank would (a separate process); fail with its output."""
    env = {**os.environ, "TALLY_PASSPHRASE": PASSPHRASE}
    command = [*prefix, sys.executable, "-m", "node", *args]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"tally {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


@dataclass(frozen=True, slots=True)
class Bank:
    org: str
    home: Path  # this bank's machine
    p2p: str  # what the others dial
    api_host: str
    api_port: int
    p2p_listen: str

    @property
    def validator(self) -> str:
        return f"validator-{self.org}"

    @property
    def api(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"


def make_keys(bank: Bank) -> None:
    """On the bank's own machine: its validator keys and its organization's admin keystore."""
    tally("node", "keygen", "--name", bank.validator, "--org", bank.org, "--p2p", bank.p2p,
          "--out", ".", cwd=bank.home)  # fmt: skip
    tally("node", "org-key", "--org", bank.org, "--name", bank.org.title(), "--kind", "bank",
          "--jurisdiction", "DE", "--kyc-expires", "2099-12-31", "--kdf", "interactive",
          "--out", "org", cwd=bank.home)  # fmt: skip


def assemble(banks: Sequence[Bank], coordinator: Path, chain: str = "tally-consortium") -> str:
    """The coordinator gets public files only, assembles genesis; each bank gets a copy.

    Returns the genesis hash printed to every bank.
    """
    coordinator.mkdir(parents=True, exist_ok=True)
    for bank in banks:
        shutil.copy(bank.home / "validator.public.json", coordinator / f"{bank.org}.validator.json")
        shutil.copy(bank.home / "org" / "org.public.json", coordinator / f"{bank.org}.org.json")
    currencies = [{"code": "EUR", "decimals": 2, "issuers": [banks[0].org]}]
    (coordinator / "currencies.json").write_text(json.dumps(currencies))
    (coordinator / "params.json").write_text(json.dumps({"batch_ms": 20}))
    output = tally(
        "node", "genesis", "--chain", chain,
        "--validators", *(f"{b.org}.validator.json" for b in banks),
        "--orgs", *(f"{b.org}.org.json" for b in banks),
        "--currencies", "currencies.json", "--params", "params.json",
        "--time", "2026-01-01", "--out", "genesis.json", "--json",
        cwd=coordinator,
    )  # fmt: skip
    for bank in banks:
        shutil.copy(coordinator / "genesis.json", bank.home / "genesis.json")
        tally("node", "config", "--name", bank.validator, "--genesis", "genesis.json",
              "--key", "validator.key", "--api", f"{bank.api_host}:{bank.api_port}",
              "--p2p", bank.p2p_listen, "--out", "node.toml", cwd=bank.home)  # fmt: skip
    return str(json.loads(output)["hash"])


def secrets_in(folder: Path) -> set[str]:
    """Every secret a folder holds: validator seeds and BLS secrets, keystore ciphertexts."""
    found: set[str] = set()
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        try:
            value = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(value, dict):
            for field in ("ed25519_seed", "bls_secret"):
                if field in value:
                    found.add(value[field])
            cipher = value.get("crypto", {}).get("cipher", {}).get("message")
            if cipher:
                found.add(cipher)
    return found


def file_texts(folder: Path) -> str:
    return "\n".join(
        p.read_text(errors="replace") for p in sorted(folder.rglob("*")) if p.is_file()
    )


def get_json(url: str, timeout: float = 2.0, signer: RequestSigner | None = None) -> Any:
    """GET `url`, signed by `signer` (a consortium's nodes answer signed requests only)."""
    request = urllib.request.Request(url, headers=signed_headers(signer, "GET", url))
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def bank_signer(bank: Bank) -> RequestSigner:
    """The bank's organization, signing with the admin keystore `make_keys` wrote."""
    return RequestSigner.of_keystore(bank.home / "org" / "admin.keystore.json", PASSPHRASE)


def wait_until(condition: Any, what: str, deadline_s: float = READY_S) -> Any:
    """Poll `condition()` until it returns something truthy; the deadline is a safety net."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@contextmanager
def running_nodes(
    banks: Sequence[Bank], prefix: Any = lambda bank: ()
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`tally node start --config node.toml` per bank; always stopped, logs shown on failure."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for bank in banks:
            log = open(bank.home / "node.log", "wb")  # noqa: SIM115 (closed with the process)
            processes.append(
                subprocess.Popen(
                    [
                        *prefix(bank),
                        sys.executable,
                        "-m",
                        "node",
                        "node",
                        "start",
                        "--config",
                        str(bank.home / "node.toml"),
                    ],
                    cwd=bank.home,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
            log.close()
        yield processes
    except BaseException:
        for bank in banks:
            log_path = bank.home / "node.log"
            if log_path.exists():
                tail = log_path.read_text(errors="replace").splitlines()[-20:]
                sys.stderr.write(f"--- {bank.validator} log tail\n" + "\n".join(tail) + "\n")
        raise
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
