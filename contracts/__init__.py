"""Deterministic business logic: pure functions of (state, tx, block context).

No clock, randomness, floats, I/O or iteration over unordered sets. `contracts.catalog` imports
every contract module so their methods are registered.
"""
