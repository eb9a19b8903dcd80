"""Whom the explorer reads as, said in every page's header (DESIGN.md §9).

On a `members` node every read is signed (the SDK client's `request_signer`) and the node shows the
organization that signs only what concerns it: an auditor's explorer shows everything, an
enterprise's only its own world. The header says which: "signed in as acme-steel (enterprise)",
from `GET /v1/orgs/{org}`, or "open API" when `/v1/status` says the node is open. A record the
node answers 404 for is, to a signed-in explorer, "not visible to acme-steel" — the node
answers the same for a record that does not exist, so the page never claims which it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.chain import ChainView
from explorer.reader import NodeError


@dataclass(frozen=True, slots=True)
class SignIn:
    """`org` (of `kind`) reading a node whose `api.access` is `access`."""

    access: str  # "members" or "open"
    org: str = ""  # "" when the explorer signs nothing
    kind: str = ""

    @property
    def members(self) -> bool:
        return self.access != "open"

    @property
    def label(self) -> str:
        if not self.members:
            return "open API"
        if not self.org:
            return "not signed in"
        return f"signed in as {self.org}" + (f" ({self.kind})" if self.kind else "")

    def not_visible(self, what: str) -> str:
        """The words for a record the node answered 404 for."""
        who = self.org or "this explorer"
        return (
            f"{what}: there is no such record, or it is not visible to {who}. A members node "
            "answers the same for both, so it never hints that a record exists."
        )


class SignInState:
    """The explorer's `SignIn`, asked of the node once (again after a failed attempt)."""

    def __init__(self, chain_view: ChainView, public_hex: str = "", org: str = "") -> None:
        self.view = chain_view
        self.public_hex = public_hex
        self.org = org
        self.current: SignIn | None = None

    async def resolve(self) -> SignIn:
        """Ask the node its access mode and the signing organization's kind."""
        if self.current is not None:
            return self.current
        status = await self.view.reader.status()
        access = str(status.get("access", "open"))
        org = self.org or await self._org_of_key()
        self.current = SignIn(access, org, await self._kind(org) if org else "")
        self.view.reader_org = org
        return self.current

    async def _org_of_key(self) -> str:
        if not self.public_hex:
            return ""
        await self.view.refresh_orgs(0.0)  # a key added after genesis is learnt from the node
        return self.view.org_of(self.public_hex)

    async def _kind(self, org: str) -> str:
        try:
            record = await self.view.reader.org(org)
            return str(record.get("kind", ""))
        except NodeError:
            known = next((o for o in self.view.genesis.orgs if o.id == org), None)
            return known.kind if known is not None else ""
