"""Authenticated, encrypted TCP transport between validators (DESIGN.md §8).

The protocol is sans-IO — `framing`, `handshake`, `session`, `connection` take and return
bytes — and `peers.Network` is the asyncio layer the node uses:

    network = Network(chain=..., index=..., key=..., validators=..., on_message=...)
    await network.start()
    network.send(peer_index, payload)     # never blocks
    network.broadcast(payload)
    network.stats()                       # for /metrics
    await network.close()
"""

from network.config import NetworkConfig, PeerAddress, validators_from_genesis
from network.errors import FrameError, HandshakeError, ProtocolError, SessionError
from network.peers import Network
from network.stats import NetworkStats, PeerStats

__all__ = [
    "FrameError",
    "HandshakeError",
    "Network",
    "NetworkConfig",
    "NetworkStats",
    "PeerAddress",
    "PeerStats",
    "ProtocolError",
    "SessionError",
    "validators_from_genesis",
]
