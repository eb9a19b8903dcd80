"""Length-prefixed frames: a 4-byte big-endian length, then that many bytes (DESIGN.md §8).

Pure functions and a push-style decoder, with no I/O: the asyncio layer feeds whatever a
socket read returned and gets whole frames back, so partial reads, several frames in one
read and a frame split over many reads are all one code path, tested without sockets.

The decoder checks the announced length *before* buffering the body, so a peer cannot make
us hold more than `max_frame_bytes` (plus one read) however it slices its bytes.
"""

from __future__ import annotations

from network.errors import FrameError

HEADER_SIZE = 4
MAX_LENGTH_FIELD = 2**32 - 1


def encode_frame(payload: bytes, max_frame_bytes: int = MAX_LENGTH_FIELD) -> bytes:
    """Prefix `payload` with its length; refuse what the receiver would refuse."""
    _check_length(len(payload), max_frame_bytes)
    return len(payload).to_bytes(HEADER_SIZE, "big") + payload


def _check_length(length: int, max_frame_bytes: int) -> None:
    # No message of ours is empty (every frame is a handshake message or a sealed box), so a
    # zero length is a protocol violation rather than a keepalive to be tolerated.
    if length == 0:
        raise FrameError("EMPTY_FRAME", "zero-length frame")
    if length > max_frame_bytes:
        raise FrameError(
            "FRAME_TOO_LARGE", f"frame of {length} bytes exceeds the limit of {max_frame_bytes}"
        )


class FrameDecoder:
    """Reassembles frames from a byte stream.

    `max_frame_bytes` may be changed between calls: a connection uses a small limit while the
    peer is unauthenticated and the chain's `max_frame_bytes` once the handshake is done.
    After a `FrameError` the stream is out of sync for good and the decoder must be dropped.
    """

    __slots__ = ("_buffer", "max_frame_bytes")

    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        """Append bytes read from the stream."""
        self._buffer += data

    def next_frame(self) -> bytes | None:
        """The next whole frame's payload, or None until more bytes arrive."""
        if len(self._buffer) < HEADER_SIZE:
            return None
        length = int.from_bytes(self._buffer[:HEADER_SIZE], "big")
        _check_length(length, self.max_frame_bytes)
        end = HEADER_SIZE + length
        if len(self._buffer) < end:
            return None
        payload = bytes(self._buffer[HEADER_SIZE:end])
        del self._buffer[:end]
        return payload

    def frames(self, data: bytes = b"") -> list[bytes]:
        """Feed `data` and return every frame now complete, in order."""
        if data:
            self.feed(data)
        result: list[bytes] = []
        while (frame := self.next_frame()) is not None:
            result.append(frame)
        return result
