"""The wallet's `tally` commands, one module per command group (DESIGN.md §12).

`node.cli` mounts each module's `COMMANDS`; `common` holds what they share (which node, which
signer, output and errors), `rates` the exact rate arithmetic of the payments commands.
"""
