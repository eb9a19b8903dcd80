"""Messages that keep replicas in step when nothing else is sent: where a peer is (STATUS),
and that it suspects the primary (SUSPECT). Neither carries other envelopes, so they live apart
from the messages that do (consensus/messages.py re-exports them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from consensus.fields import fields_of, height_of, require, uint, view_of
from ledger.types import Height, View


@dataclass(frozen=True, slots=True)
class Status:
    """Where the sender is; peers answer with what it lacks (votes, new view, stable proof)."""

    view: View
    installed: bool  # False while changing view or not knowing the view's NEW-VIEW
    height: Height  # committed height
    stable: Height  # stable checkpoint height

    TYPE: ClassVar[str] = "status"

    def to_value(self) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "view": self.view,
            "installed": self.installed,
            "height": self.height,
            "stable": self.stable,
        }

    @staticmethod
    def from_value(value: dict[str, Any]) -> Status:
        fields = fields_of(value, ("type", "view", "installed", "height", "stable"), "status")
        require(isinstance(fields["installed"], bool), "installed must be a bool")
        return Status(
            view_of(fields["view"]),
            fields["installed"],
            height_of(fields["height"]),
            Height(uint(fields["stable"], "stable")),
        )


@dataclass(frozen=True, slots=True)
class Suspect:
    """The sender suspects the primary of `view` (a timeout, or a block its executor refused).

    Unlike a VIEW-CHANGE it binds the sender to nothing: it goes on voting in `view`, and
    leaves only once f+1 replicas suspect the view (consensus/changes.py says why).
    """

    view: View

    TYPE: ClassVar[str] = "suspect"

    def to_value(self) -> dict[str, Any]:
        return {"type": self.TYPE, "view": self.view}

    @staticmethod
    def from_value(value: dict[str, Any]) -> Suspect:
        fields = fields_of(value, ("type", "view"), "suspect")
        return Suspect(view_of(fields["view"]))
