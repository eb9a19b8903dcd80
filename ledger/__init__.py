"""The foundation: encoding, hashing, keys, Merkle trees, ledger types, genesis and storage.

Imports nothing else of Tallychain's (DESIGN.md §2).
"""
