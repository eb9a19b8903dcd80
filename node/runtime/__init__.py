"""The running node: driver, executor, mempool, gossip, state sync, peer transport, metrics."""
