"""The explorer: a web UI and audit tools that verify what a node shows against the genesis file."""
