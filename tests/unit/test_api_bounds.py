"""The API's bounds, one piece at a time: admission to the read pool, byte-bounded pages,
JSON bodies checked before they are parsed, and the [api] config."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import TallyError
from node.api.limits import ApiLimits
from node.api.params import nesting_depth, parse_json
from node.api.reads import ENVELOPE_BYTES, Page, ReadPool
from node.api.responses import HttpError
from node.api.server import describe_limits
from node.config import load_config


def test_the_read_pool_refuses_at_once_beyond_its_admissions_and_runs_off_the_loop() -> None:
    async def main() -> None:
        pool = ReadPool(ApiLimits(read_threads=1, max_heavy_reads=2))
        release = threading.Event()
        loop_thread = threading.get_ident()

        def slow_read() -> int:
            release.wait(10)
            return threading.get_ident()

        running = [asyncio.ensure_future(pool.run(slow_read)) for _ in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(HttpError) as refused:
            await pool.run(slow_read)
        assert (refused.value.status, refused.value.code) == (503, "BUSY")
        assert refused.value.headers["Retry-After"] == "1"
        release.set()
        threads = await asyncio.gather(*running)
        assert loop_thread not in threads
        assert pool.slots.taken == 0 and pool.slots.refused == 1
        assert await pool.run(lambda: 7) == 7  # room again
        pool.close()

    asyncio.run(main())


def test_an_error_raised_on_a_read_thread_reaches_the_handler_and_frees_its_slot() -> None:
    async def main() -> None:
        pool = ReadPool(ApiLimits(max_heavy_reads=1))

        def missing() -> None:
            raise HttpError(404, "NOT_FOUND", "block not found")

        with pytest.raises(HttpError):
            await pool.run(missing)
        assert pool.slots.taken == 0
        pool.close()

    asyncio.run(main())


def test_a_page_stops_before_its_budget_but_always_holds_one_row() -> None:
    budget = ENVELOPE_BYTES + 1000
    page = Page(budget)
    rows = [{"n": i, "pad": "x" * 90} for i in range(100)]
    added = [row for row in rows if page.add(row)]
    assert 1 < len(added) < len(rows)
    assert added == rows[: len(added)]  # a prefix: the cursor continues after the last one
    body = page.body("rows", {"next": len(added), "height": 12})
    assert len(body) <= budget
    assert json.loads(body) == {"rows": added, "next": len(added), "height": 12}

    huge = Page(budget)
    assert huge.add({"pad": "y" * 5000}) and not huge.add({"n": 1})
    assert len(json.loads(huge.body("rows", {}))["rows"]) == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[" * 100_000, "more than"),  # brackets counted before the parser sees them
        (b"[" + b"0," * 50_000 + b"0]", "more than"),
        (b"[" * 2_000 + b"]" * 2_000, "nests deeper"),  # the parser's RecursionError
        (b"[" * 40 + b"]" * 40, "nests deeper"),  # valid, but deeper than allowed
        (b'{"a": [1, 2', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_json_bodies_are_refused_with_bad_json_before_they_cost_anything(
    raw: bytes, message: str
) -> None:
    with pytest.raises(HttpError) as refused:
        parse_json(raw, max_values=10_000, max_depth=32)
    assert (refused.value.status, refused.value.code) == (400, "BAD_JSON")
    assert message in refused.value.message


def test_an_ordinary_body_parses() -> None:
    body = json.dumps({"txs": ["ab" * 50] * 1000}).encode()
    assert len(parse_json(body, max_values=1008, max_depth=32)["txs"]) == 1000
    nested: Any = [[{"a": [1]}], 2]
    assert parse_json(json.dumps(nested).encode(), 100, 4) == nested


def test_nesting_depth_counts_arrays_and_objects_without_recursion() -> None:
    assert nesting_depth(5) == 0
    assert nesting_depth([]) == 1
    assert nesting_depth({"a": [1, {"b": []}]}) == 4
    deep: Any = []
    for _ in range(50_000):
        deep = [deep]
    assert nesting_depth(deep) == 50_001


def _config(tmp_path: Path, api_lines: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(f'[node]\nname = "v"\ngenesis = "g.json"\n\n[api]\n{api_lines}')
    return path


def test_the_api_limits_come_from_the_config_with_documented_defaults(tmp_path: Path) -> None:
    assert load_config(_config(tmp_path, "")).api_limits == ApiLimits()
    limits = load_config(
        _config(tmp_path, "max_connections = 50\nheader_timeout_s = 3\nbody_timeout_s = 2.5\n")
    ).api_limits
    assert (limits.max_connections, limits.header_timeout_s, limits.body_timeout_s) == (
        50,
        3.0,
        2.5,
    )


@pytest.mark.parametrize(
    "line", ["max_connections = 0", "header_timeout_s = -1", 'read_threads = "two"']
)
def test_unusable_api_limits_are_refused_with_bad_config(tmp_path: Path, line: str) -> None:
    with pytest.raises(TallyError) as refused:
        load_config(_config(tmp_path, line + "\n"))
    assert refused.value.code == "BAD_CONFIG"
    assert line.split()[0] in refused.value.message


def test_the_limits_summary_names_only_what_grew() -> None:
    before = {"heads not sent in time": 3, "heavy reads refused (BUSY)": 10, "streams": 0}
    after = {"heads not sent in time": 3, "heavy reads refused (BUSY)": 1_210, "streams": 2}
    assert describe_limits(before, after) == "1,200 heavy reads refused (BUSY), 2 streams"
    assert describe_limits(after, after) == ""
