"""PBFT as a sans-IO state machine: events in, actions out; no sockets, clocks or threads."""

from consensus.config import ReplicaConfig
from consensus.crypto import ReplicaCrypto, ValidatorCrypto
from consensus.replica import PbftReplica

__all__ = ["PbftReplica", "ReplicaConfig", "ReplicaCrypto", "ValidatorCrypto"]
