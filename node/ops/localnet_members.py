"""A validator joining an existing localnet (DESIGN.md §7): its keys and config, not started.

`tally localnet add-node --dir DIR [--org BANK] [--name NAME]` writes the new node's folder
(fresh keys, a free API port and P2P address, the localnet's genesis), appends it to
localnet.json marked `"added": true`, and returns what governance needs to add it: the
`add_validator` params (name, org, keys in hex, proof of possession, p2p address). The node
is started like any other (`tally localnet start --dir DIR NAME`): being in no set yet it
follows the chain, catching up by snapshot once the others admit it, and votes from the first
height after the checkpoint that follows its approval. Only a genesis with `"membership": true`
allows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger.crypto import BlsKey, Ed25519Key
from ledger.genesis import load_genesis
from node.config import with_snapshot_behind
from node.ops.devnet import ValidatorSecrets
from node.ops.layout import (
    LocalnetError,
    free_ports,
    read_info,
    write_info,
    write_node,
)

# The snapshot threshold of an added node: far lower than a validator's default, so a node
# joining a young localnet restores the state by snapshot instead of replaying every block.
ADDED_SNAPSHOT_BEHIND = 4


def add_node(directory: Path, *, org: str = "bank-a", name: str | None = None) -> dict[str, Any]:
    """Lay out one more node for the localnet at `directory`; its add_validator params."""
    directory = directory.resolve()
    info = read_info(directory)
    genesis = load_genesis(info["genesis"])
    if not genesis.membership:
        raise LocalnetError(
            "MEMBERSHIP_DISABLED",
            "this localnet's genesis does not allow validator changes: start it with \"up "
            '--membership"',
        )
    taken = {entry["name"] for entry in info["nodes"]}
    name = name or f"validator-{len(info['nodes']) + 1}"
    if name in taken:
        raise LocalnetError("NODE_EXISTS", f"the localnet already has a node {name!r}")
    api_port, p2p_port = free_ports(2)
    ed25519, bls = Ed25519Key.generate(), BlsKey.generate()
    validator = ValidatorSecrets(name, org, ed25519, bls, f"127.0.0.1:{p2p_port}")
    entry = write_node(directory, validator, api_port, info.get("access", "open"))
    config = directory / name / "node.toml"
    config.write_text(with_snapshot_behind(config.read_text(), ADDED_SNAPSHOT_BEHIND))
    entry["added"] = True
    info["nodes"].append(entry)
    write_info(directory, info)
    return {
        "node": entry,
        "add_validator": {
            "name": name,
            "org": org,
            "ed25519": ed25519.public.hex(),
            "bls": bls.public.hex(),
            "bls_pop": bls.proof_of_possession().hex(),
            "p2p": validator.p2p,
        },
    }
