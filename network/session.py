"""The encrypted, authenticated channel a completed handshake opens: XSalsa20-Poly1305 boxes.

Each direction has its own key (from the handshake) and a message counter that is the nonce.
The nonce is never sent: the receiver uses the count of frames it has opened. TCP delivers in
order, so an honest stream always matches; a frame that is replayed, dropped, reordered or
reflected back to its sender (the other direction's key) fails authentication and ends the
session. A fresh key per session makes counter nonces safe: no (key, nonce) pair repeats.
"""

from __future__ import annotations

import nacl.exceptions
import nacl.secret

from network.errors import SessionError

NONCE_SIZE = nacl.secret.SecretBox.NONCE_SIZE  # 24
MAC_SIZE = nacl.secret.SecretBox.MACBYTES  # 16
_MAX_COUNTER = 2**64 - 1


def _nonce(counter: int) -> bytes:
    return counter.to_bytes(NONCE_SIZE, "big")


class Session:
    """Seals outgoing and opens incoming payloads of one connection, in order."""

    __slots__ = ("_receive_box", "_received", "_send_box", "_sent")

    def __init__(self, send_key: bytes, receive_key: bytes) -> None:
        if send_key == receive_key:
            # Equal keys would let a peer's own frames be reflected back and accepted.
            raise SessionError("BAD_KEYS", "send and receive keys must differ")
        self._send_box = nacl.secret.SecretBox(send_key)
        self._receive_box = nacl.secret.SecretBox(receive_key)
        self._sent = 0
        self._received = 0

    @property
    def sent(self) -> int:
        return self._sent

    @property
    def received(self) -> int:
        return self._received

    def seal(self, plaintext: bytes) -> bytes:
        """Encrypt and authenticate the next outgoing payload (MAC_SIZE bytes longer)."""
        if self._sent >= _MAX_COUNTER:
            raise SessionError("COUNTER_EXHAUSTED", "reconnect for a fresh session")
        sealed = self._send_box.encrypt(plaintext, _nonce(self._sent)).ciphertext
        self._sent += 1
        return bytes(sealed)

    def open(self, sealed: bytes) -> bytes:
        """Authenticate and decrypt the next incoming payload, or raise `SessionError`."""
        if self._received >= _MAX_COUNTER:
            raise SessionError("COUNTER_EXHAUSTED", "reconnect for a fresh session")
        try:
            plaintext = self._receive_box.decrypt(sealed, _nonce(self._received))
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            raise SessionError(
                "BAD_CIPHERTEXT",
                f"frame {self._received} failed authentication (forged, replayed or reordered)",
            ) from None
        self._received += 1
        return bytes(plaintext)
