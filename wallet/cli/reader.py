"""Who a `tally` command signs its API requests as (DESIGN.md §9: a `members` node answers
signed requests only), chosen once, in this order:

1. the command's signer, when it has one (`--keystore FILE`, or `--as ORG` of a localnet): the
   key that signs its transaction signs its requests too, so it reads what that organization may;
2. for a command that only reads, against a localnet: the localnet's auditor (audit-co), which
   may read everything; a line on stderr says so, and `--as ORG` reads as another;
3. no localnet and no signer: unsigned, for a node whose API is `open`; a `members` node then
   answers 401 UNAUTHENTICATED: pass `--keystore FILE`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.crypto import Ed25519Key
from wallet.cli.output import say
from wallet.localnet_keys import localnet_auditor
from wallet.request_signing import RequestSigner


def request_signer(
    signer: Callable[[], Ed25519Key] | None, net: dict[str, Any] | None
) -> RequestSigner | None:
    """The requests' signer: the command's own (`signer`), else the localnet's auditor."""
    if signer is not None:
        return RequestSigner.of(signer())
    if net is None:
        return None
    auditor = localnet_auditor(net)
    say(f"reading as {auditor}, the localnet's auditor (say --as ORG to read as another)")
    return RequestSigner.of_localnet(net, auditor)
