"""Offline signing (issue 17): a transaction built where a node is reachable, signed on a
machine that reaches none, and submitted from anywhere.

Three files' worth of steps. `unsigned_document(body)` is everything the signer needs and
nothing it must fetch: the chain, the call (contract, method, args), the sender, the nonce and
the expiry height, both as fields a person reviews and as the exact body bytes that are signed;
`read_unsigned` refuses a file whose fields and bytes disagree, so what was reviewed is what is
signed. `signed_document(tx)` carries the signed transaction's encoding; `read_signed` checks
its id and signature before it is sent. `no_network()` makes the signing process unable to open
a connection at all, so an offline step cannot reach a node by mistake.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ledger.errors import TallyError
from ledger.types import SignedTx, TxBody, tx_id

UNSIGNED_FORMAT = "tally-unsigned-tx/1"
SIGNED_FORMAT = "tally-signed-tx/1"
BAD_TX_FILE = "BAD_TX_FILE"
NETWORK_REFUSED = "OFFLINE_NETWORK"  # something tried to connect during an offline step


def _jsonable(value: Any) -> Any:
    """A body's value for a person: bytes as hex, the rest as JSON has it."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _reviewed(body: TxBody) -> dict[str, Any]:
    return {
        "chain": body.chain,
        "from": body.sender.hex(),
        "contract": body.contract,
        "method": body.method,
        "args": _jsonable(body.args),
        "nonce": body.nonce,
        "valid_until": body.valid_until,
    }


def unsigned_document(body: TxBody) -> dict[str, Any]:
    """The unsigned file of `body`: the reviewed fields, the body bytes and the tx id."""
    body_bytes = body.encode()
    return {
        "format": UNSIGNED_FORMAT,
        **_reviewed(body),
        "body": body_bytes.hex(),
        "tx": tx_id(body_bytes).hex(),
    }


def _hex(document: dict[str, Any], name: str) -> bytes:
    value = document.get(name)
    try:
        return bytes.fromhex(str(value))
    except (TypeError, ValueError):
        raise TallyError(BAD_TX_FILE, f"{name} must be hex") from None


def _checked_format(document: Any, expected: str) -> dict[str, Any]:
    if not isinstance(document, dict) or document.get("format") != expected:
        raise TallyError(BAD_TX_FILE, f"not a {expected} file")
    return document


def read_unsigned(document: Any) -> TxBody:
    """The body an unsigned file asks to sign, refused (BAD_TX_FILE) unless its reviewed
    fields and its id are exactly those of its body bytes."""
    document = _checked_format(document, UNSIGNED_FORMAT)
    body_bytes = _hex(document, "body")
    try:
        body = TxBody.decode(body_bytes)
    except TallyError as error:
        raise TallyError(BAD_TX_FILE, f"the body does not decode: {error.message}") from None
    reviewed = {name: document.get(name) for name in _reviewed(body)}
    if reviewed != _reviewed(body):
        raise TallyError(BAD_TX_FILE, "the file's fields are not those of the body it signs")
    if document.get("tx") != tx_id(body_bytes).hex():
        raise TallyError(BAD_TX_FILE, "the file's tx id is not its body's")
    return body


def signed_document(tx: SignedTx) -> dict[str, Any]:
    """The signed file of `tx`: its id, the reviewed fields, and the encoded signed tx."""
    return {
        "format": SIGNED_FORMAT,
        "tx": tx.id.hex(),
        **_reviewed(tx.body),
        "signed": tx.encode().hex(),
    }


def read_signed(document: Any) -> SignedTx:
    """The signed transaction of a signed file; BAD_TX_FILE unless it decodes, its id is the
    file's and its signature verifies."""
    document = _checked_format(document, SIGNED_FORMAT)
    try:
        tx = SignedTx.decode(_hex(document, "signed"))
    except TallyError as error:
        raise TallyError(BAD_TX_FILE, f"the signed tx does not decode: {error.message}") from None
    if tx.id.hex() != document.get("tx"):
        raise TallyError(BAD_TX_FILE, "the file's tx id is not its signed tx's")
    if not tx.signature_valid():
        raise TallyError(BAD_TX_FILE, "the signature does not verify")
    return tx


def load_document(path: str) -> Any:
    """A tx file's JSON (BAD_FILE when it cannot be read or is not JSON)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise TallyError("BAD_FILE", f"cannot read {path}: {error.strerror}") from None
    except ValueError:
        raise TallyError("BAD_FILE", f"{path} is not JSON") from None


def save_document(path: str, document: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _refuse(*_: Any, **__: Any) -> Any:
    raise TallyError(NETWORK_REFUSED, "an offline step tried to open a network connection")


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """Within this block no socket of this process can connect, send to, or resolve a name."""
    names = ("connect", "connect_ex", "sendto")
    saved_methods = {name: getattr(socket.socket, name) for name in names}
    saved_functions = (socket.create_connection, socket.getaddrinfo)
    try:
        for name in names:
            setattr(socket.socket, name, _refuse)
        socket.create_connection = _refuse
        socket.getaddrinfo = _refuse
        yield
    finally:
        for name, method in saved_methods.items():
            setattr(socket.socket, name, method)
        socket.create_connection, socket.getaddrinfo = saved_functions
