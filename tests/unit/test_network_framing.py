"""Framing is a pure decoder: whatever way a stream is sliced, the same frames come out."""

from __future__ import annotations

import pytest

from network.errors import FrameError
from network.framing import HEADER_SIZE, FrameDecoder, encode_frame


def test_frame_is_big_endian_length_then_payload() -> None:
    assert encode_frame(b"abc") == b"\x00\x00\x00\x03abc"


def test_frames_split_at_every_byte_reassemble_in_order() -> None:
    payloads = [b"a", b"hello", bytes(range(256)) * 3, b"z"]
    stream = b"".join(encode_frame(p) for p in payloads)
    decoder = FrameDecoder(max_frame_bytes=4096)
    received: list[bytes] = []
    for index in range(len(stream)):
        received += decoder.frames(stream[index : index + 1])
    assert received == payloads
    assert decoder.buffered == 0


def test_many_frames_in_one_read_all_come_out() -> None:
    payloads = [bytes([n]) * (n + 1) for n in range(50)]
    decoder = FrameDecoder(max_frame_bytes=4096)
    assert decoder.frames(b"".join(encode_frame(p) for p in payloads)) == payloads


def test_partial_header_and_partial_body_wait_for_more() -> None:
    decoder = FrameDecoder(max_frame_bytes=100)
    frame = encode_frame(b"0123456789")
    assert decoder.frames(frame[:2]) == []
    assert decoder.frames(frame[2 : HEADER_SIZE + 3]) == []
    assert decoder.buffered == HEADER_SIZE + 3
    assert decoder.frames(frame[HEADER_SIZE + 3 :] + frame[:1]) == [b"0123456789"]
    assert decoder.buffered == 1


def test_oversize_frame_is_refused_from_its_header_alone() -> None:
    decoder = FrameDecoder(max_frame_bytes=100)
    # Only the header arrived: the body is never buffered.
    with pytest.raises(FrameError) as error:
        decoder.frames((101).to_bytes(4, "big"))
    assert error.value.code == "FRAME_TOO_LARGE"


def test_frame_of_exactly_the_limit_is_accepted() -> None:
    decoder = FrameDecoder(max_frame_bytes=100)
    assert decoder.frames(encode_frame(b"x" * 100)) == [b"x" * 100]


def test_zero_length_frame_is_a_protocol_error() -> None:
    decoder = FrameDecoder(max_frame_bytes=100)
    with pytest.raises(FrameError) as error:
        decoder.frames(b"\x00\x00\x00\x00")
    assert error.value.code == "EMPTY_FRAME"


def test_encoder_refuses_what_the_decoder_would_refuse() -> None:
    with pytest.raises(FrameError):
        encode_frame(b"")
    with pytest.raises(FrameError):
        encode_frame(b"x" * 11, max_frame_bytes=10)


def test_limit_can_be_raised_after_the_handshake() -> None:
    decoder = FrameDecoder(max_frame_bytes=10)
    big = encode_frame(b"y" * 50)
    decoder.feed(encode_frame(b"small") + big)
    assert decoder.next_frame() == b"small"
    decoder.max_frame_bytes = 100
    assert decoder.frames() == [b"y" * 50]
