"""The localnet folder (DESIGN.md §11): what it holds, and writing and reading localnet.json.

A localnet folder holds `genesis.json`, one folder per validator (`node.toml`,
`validator.key`, `data/`, `node.log`) and `localnet.json` (the contract: chain, genesis path,
nodes with API URL and pid, organizations with their seeds). Writing it starts nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ledger.errors import TallyError
from node.config import render_config
from node.keys import ValidatorKeys, write_keys
from node.ops.devnet import DevNet, ValidatorSecrets, make_devnet

LOCALNET_FILE = "localnet.json"
GENESIS_FILE = "genesis.json"
CONFIG_FILE = "node.toml"
LOG_FILE = "node.log"
LOCK_FILE = ".localnet.lock"  # held while localnet.json is read, changed and written


class LocalnetError(TallyError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


# What a localnet's nodes answer: signed requests only, as a consortium's (DESIGN.md §9); its
# tools sign with the keys localnet.json keeps (node/ops/localnet_access.py).
DEFAULT_LOCALNET_ACCESS = "members"


def free_ports(count: int) -> list[int]:
    """Ports the OS calls free right now (held open together so they are distinct)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _ports(nodes: int, base_port: int | None) -> tuple[list[int], list[int]]:
    """(API ports, P2P ports): free ones, or API from `base_port` and P2P 100 above."""
    if base_port is None:
        ports = free_ports(2 * nodes)
        return ports[:nodes], ports[nodes:]
    return [base_port + i for i in range(nodes)], [base_port + 100 + i for i in range(nodes)]


def write_node(
    directory: Path, validator: ValidatorSecrets, api_port: int, access: str
) -> dict[str, Any]:
    """One validator's folder (keys and config); its localnet.json entry, not started."""
    node_dir = directory / validator.name
    node_dir.mkdir(parents=True, exist_ok=True)
    write_keys(
        node_dir / "validator.key",
        ValidatorKeys(validator.name, validator.ed25519, validator.bls),
    )
    (node_dir / CONFIG_FILE).write_text(
        render_config(
            name=validator.name,
            genesis=f"../{GENESIS_FILE}",
            api_port=api_port,
            p2p_listen=validator.p2p,
            api_access=access,
        )
    )
    return {"name": validator.name, "api": f"http://127.0.0.1:{api_port}", "pid": 0}


def _org_entries(devnet: DevNet) -> list[dict[str, Any]]:
    """Every organization with its keys' seeds: a development network keeps them in the clear."""
    return [
        {
            "id": org["id"],
            "kind": org["kind"],
            "keys": [
                {"role": role, "public": key.public.hex(), "seed": key.seed.hex()}
                for role, key in devnet.org_keys[org["id"]].items()
            ],
        }
        for org in devnet.genesis["orgs"]
    ]


def init_network(
    directory: Path,
    nodes: int,
    *,
    chain: str = "tally-dev",
    base_port: int | None = None,
    params: dict[str, int] | None = None,
    membership: bool = False,
    access: str = DEFAULT_LOCALNET_ACCESS,
) -> dict[str, Any]:
    """Write genesis, per-node config and key files; return localnet.json's content (pid 0)."""
    api_ports, p2p_ports = _ports(nodes, base_port)
    devnet = make_devnet(
        nodes, chain=chain, p2p_ports=p2p_ports, params=params, membership=membership
    )
    directory.mkdir(parents=True, exist_ok=True)
    genesis_path = directory / GENESIS_FILE
    genesis_path.write_text(json.dumps(devnet.genesis, indent=2) + "\n")
    entries = [
        write_node(directory, validator, api_port, access)
        for validator, api_port in zip(devnet.validators, api_ports, strict=True)
    ]
    info = {
        "chain": chain,
        "access": access,
        "genesis": str(genesis_path.resolve()),
        "nodes": entries,
        "orgs": _org_entries(devnet),
    }
    write_info(directory, info)
    return info


def read_info(directory: Path) -> dict[str, Any]:
    path = directory / LOCALNET_FILE
    try:
        info: dict[str, Any] = json.loads(path.read_text())
    except OSError:
        raise LocalnetError("NO_LOCALNET", f"no {LOCALNET_FILE} in {directory}") from None
    except ValueError:
        raise LocalnetError("BAD_LOCALNET", f"{path} is not valid JSON") from None
    return info


def write_info(directory: Path, info: dict[str, Any]) -> None:
    """Replace localnet.json atomically, so a reader never sees half of it (the temporary file
    is this process's and thread's own, so two writers never share one)."""
    path = directory / LOCALNET_FILE
    temporary = path.with_name(f".{LOCALNET_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(info, indent=2) + "\n")
    temporary.replace(path)


@contextlib.contextmanager
def updating_info(directory: Path) -> Iterator[dict[str, Any]]:
    """localnet.json to change in place, read and written back under an exclusive lock
    (fcntl) on the folder's lock file: two `tally localnet start` at once each keep the
    other's pid, where a bare read-modify-write would lose one."""
    with (directory / LOCK_FILE).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            info = read_info(directory)
            yield info
            write_info(directory, info)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def node_config_path(directory: Path, name: str) -> Path:
    """The node.toml of validator `name` in the localnet at `directory`."""
    return directory / name / CONFIG_FILE
