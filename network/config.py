"""Where the validators are and how the transport behaves: addresses, limits, timings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.genesis import DEFAULT_PARAMS, Genesis


@dataclass(frozen=True, slots=True)
class PeerAddress:
    """A validator as the network knows it: its index, genesis Ed25519 key and p2p address."""

    index: int
    ed25519: bytes
    address: str  # "host:port"


def validators_from_genesis(genesis: Genesis) -> list[PeerAddress]:
    return [
        PeerAddress(index, validator.ed25519, validator.p2p)
        for index, validator in enumerate(genesis.validators)
    ]


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """Limits and timings. Seconds are floats here: this is I/O code, not consensus."""

    max_frame_bytes: int = DEFAULT_PARAMS["max_frame_bytes"]
    listen: str | None = None  # "host:port" to bind; default: our own validator address
    # A whole handshake, either side: three messages (1.5 round trips) and three signature
    # operations take milliseconds on a LAN and well under a second between continents; 3 s
    # leaves room for a loaded host, and is how long a silent socket can hold a slot.
    handshake_timeout: float = 3.0
    connect_timeout: float = 5.0
    ping_interval: float = 5.0  # a connection idle this long on our side gets a keepalive
    idle_timeout: float = 20.0  # silence this long from a peer means it is gone
    drain_timeout: float = 5.0  # how long a superseded connection may take to wind down
    reconnect_min: float = 0.1
    reconnect_max: float = 5.0
    queue_max_messages: int = 4096
    queue_max_bytes: int = 64 * 1024 * 1024
    # Inbound connections still in their handshake (network/admission.py): unproved ones in
    # all, unproved ones per source address (IPv6: per /64), and proved ones per validator key.
    # Each holds a file descriptor and a few KB; 128 keeps the P2P port far from a 1,024-fd
    # limit. A validator dialing in needs one slot (two while it redials), so 8 per source
    # leaves room for validators sharing a host (a localnet) or a NAT.
    max_pending_handshakes: int = 128
    max_pending_per_source: int = 8
    max_proved_per_peer: int = 2
    # Failed inbound handshakes, peer faults and accept() errors: the first after a quiet
    # interval is logged in full, then one summary line per interval (network/throttle.py).
    log_interval: float = 10.0
    read_chunk: int = 256 * 1024
    write_batch_bytes: int = 256 * 1024

    @staticmethod
    def from_genesis(genesis: Genesis, **overrides: Any) -> NetworkConfig:
        return NetworkConfig(max_frame_bytes=genesis.params["max_frame_bytes"], **overrides)


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"address {address!r} is not host:port")
    return host.strip("[]"), int(port)
