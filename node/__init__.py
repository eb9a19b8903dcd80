"""The composition root: config, mempool, executor, consensus driver, HTTP API, metrics, CLI."""
