"""The auditor's index: verified blocks decoded into SQL tables (SQLite or PostgreSQL).

`follower` reads a node through the SDK, verifies each block with explorer.audit before it is
decoded (`decode`, `money`) and written (`writer`, one transaction per block range); `queries`
and `export` read it back for the CLI and the explorer.
"""
