"""Hand-fed replicas for unit tests: validators' keys, blocks and signed envelopes."""

from __future__ import annotations

from consensus.config import ReplicaConfig
from consensus.crypto import ValidatorCrypto
from consensus.interface import Action, MessageReceived
from consensus.messages import SignedMessage
from ledger.crypto import BlsKey, Ed25519Key
from ledger.hashing import sha256
from ledger.merkle import merkle_root
from ledger.types import Block, Header, SignedTx, TxBody

CHAIN = "unit-chain"
GENESIS = sha256(b"genesis")


def keys(n: int) -> tuple[list[Ed25519Key], list[BlsKey]]:
    return (
        [Ed25519Key.from_seed(sha256(b"ed%d" % i)) for i in range(n)],
        [BlsKey.from_secret(100 + i) for i in range(n)],
    )


def setup(n: int, index: int) -> tuple[ReplicaConfig, list[ValidatorCrypto]]:
    ed, bl = keys(n)
    cryptos = [
        ValidatorCrypto(ed[i], bl[i], [k.public for k in ed], [k.public for k in bl])
        for i in range(n)
    ]
    config = ReplicaConfig(CHAIN, index, tuple(k.public for k in ed), GENESIS, batch_ms=10)
    return config, cryptos


def make_block(
    config: ReplicaConfig, height: int, prev: bytes, view: int = 0, tag: int = 0, pad: int = 0
) -> Block:
    """A block of one tx (`pad` bytes of memo make it as big as a test needs)."""
    key = Ed25519Key.from_seed(sha256(b"client"))
    args = {"tag": tag, "memo": "x" * pad} if pad else {"tag": tag}
    body = TxBody(CHAIN, key.public, "cash", "transfer", args, height, 10**6)
    txs = (SignedTx.create(body, key).encode(),)
    header = Header(
        CHAIN,
        height,
        prev,
        5000,
        config.validators[view % config.n],
        view,
        merkle_root(txs),
        bytes(32),
        sha256(b"%d/%d" % (height, tag)),
        bytes(32),
    )
    return Block(header, txs)


def sign(cryptos: list[ValidatorCrypto], index: int, message: object) -> SignedMessage:
    return SignedMessage.create(CHAIN, index, message, cryptos[index].sign_message)  # type: ignore[arg-type]


def received(envelope: SignedMessage, now: int = 0) -> MessageReceived:
    return MessageReceived(envelope.sender, envelope.encode(), now)


def of_type(actions: list[Action], kind: type) -> list[Action]:
    return [a for a in actions if isinstance(a, kind)]
