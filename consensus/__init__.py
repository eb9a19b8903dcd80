"""PBFT as a sans-IO state machine: events in, actions out; no sockets, clocks or threads."""
