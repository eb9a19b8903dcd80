"""`GET /v1/events` pages never step over events the node lacks (node/api/blocks.py): a node that
joined by snapshot holds none below it, and a client trusts a page's `next` to mean "every event
up to here that you may read is in this page" (wallet/subscription.py relies on it)."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from ledger.chain import ChainStore
from node.api.blocks import events_page
from node.api.responses import HttpError


class EventLog:
    """The events a store holds, by seq (a stand-in for ChainStore.events)."""

    def __init__(self, seqs: list[int]) -> None:
        self.seqs = seqs

    def events(self, after: int, limit: int) -> list[dict[str, Any]]:
        return [{"seq": n, "height": n, "index": 0} for n in self.seqs if n > after][:limit]


def page(seqs: list[int], after: int, keep: Any = None) -> dict[str, Any]:
    chain = cast(ChainStore, EventLog(seqs))
    answer: dict[str, Any] = json.loads(events_page(chain, after, 100, 10**6, keep))
    return answer


def test_a_page_stops_before_a_hole_and_one_that_starts_in_it_is_410() -> None:
    held = [1, 2, 3, 8, 9]  # it had 1..3, then adopted a snapshot at event 7
    first = page(held, 0)
    assert [e["seq"] for e in first["events"]] == [1, 2, 3] and first["next"] == 3
    with pytest.raises(HttpError) as absent:
        page(held, 3)
    assert absent.value.status == 410 and absent.value.code == "HISTORY_ABSENT"
    assert [e["seq"] for e in page(held, 7)["events"]] == [8, 9]


def test_next_passes_the_events_a_caller_may_not_read() -> None:
    answer = page([1, 2, 3, 4], 0, keep=lambda record: record["seq"] in (1, 3))
    assert [e["seq"] for e in answer["events"]] == [1, 3] and answer["next"] == 4
    assert page([1, 2], 2) == {"events": [], "next": 2}
