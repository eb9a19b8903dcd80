"""Errors of the peer transport, each with a stable code for logs and metrics.

Every one of them means "this connection cannot go on": the asyncio layer closes that
connection, counts the fault against the peer and keeps serving everybody else.
"""

from __future__ import annotations

from ledger.errors import TallyError


class ProtocolError(TallyError):
    """The bytes a peer sent break the wire protocol (framing, envelope or session)."""


class FrameError(ProtocolError):
    """A frame header announces an impossible length (empty, or over the limit)."""


class HandshakeError(ProtocolError):
    """The peer could not prove it is a validator of this chain, or spoke out of turn."""


class SessionError(ProtocolError):
    """A sealed frame failed authentication: forged, corrupted, replayed or reordered."""
