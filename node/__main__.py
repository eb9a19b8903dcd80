"""`python -m node ...` is `tally ...`: localnets start nodes this way, with this interpreter."""

from node.cli import main

main()
