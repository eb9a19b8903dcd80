"""Where the parts of a signed tx sit in its canonical bytes (DESIGN.md §3 and §5).

A node decodes every tx it is sent once; reading a well-formed one by position, instead of by
the general decoder (unpack, check, repack, compare), is most of what that decode costs. The
canonical encoding is unique, so bytes that fit this layout are exactly what the general
decoder would accept, and anything else goes to it for a precise refusal.
"""

from __future__ import annotations

from ledger.crypto import ED25519_SIGNATURE_SIZE

# The one canonical encoding of {"body": bin, "sig": bin 64}: a map of two, its keys in order,
# each bin with the shortest length prefix (DESIGN.md §3).
_TX_BODY_KEY = b"\x82\xa4body"
_TX_SIG_FIELD = b"\xa3sig\xc4\x40"
_TX_TAIL = len(_TX_SIG_FIELD) + ED25519_SIGNATURE_SIZE
# bin 8, 16 and 32: the width of the length, and the shortest length each is canonical for.
_BIN_PREFIXES = {b"\xc4": (1, 0), b"\xc5": (2, 256), b"\xc6": (4, 65536)}


def canonical_tx_parts(data: bytes) -> tuple[bytes, bytes] | None:
    """(body, sig) of a canonically encoded signed tx, read from its bytes by position; None
    for anything else, which the general decoder then refuses naming what is wrong."""
    if type(data) is not bytes or not data.startswith(_TX_BODY_KEY):
        return None
    end = len(data) - _TX_TAIL  # where the sig field starts
    if end < 0 or data[end : end + len(_TX_SIG_FIELD)] != _TX_SIG_FIELD:
        return None
    start = len(_TX_BODY_KEY)
    prefix = _BIN_PREFIXES.get(data[start : start + 1])
    if prefix is None:
        return None
    width, smallest = prefix
    offset = start + 1 + width
    size = int.from_bytes(data[start + 1 : offset], "big")
    if offset > end or size != end - offset or size < smallest:
        return None
    return data[offset:end], data[-ED25519_SIGNATURE_SIZE:]
