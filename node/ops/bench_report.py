"""The report of one `tally bench` run (DESIGN.md §13), and the JSON that `--json` prints.

The report holds floats (rates, ratios, milliseconds), which the canonical codec refuses by
design, so its encoding is JSON: the one object `tally bench --json` has always printed, with
the same keys in the same order. `decode` accepts exactly that object, so a report written to a
file (docs/benchmarks.md quotes them) can be read back and compared. Keys added since the first
release (`cpu_us_per_tx`, `catchup_ratio` and the rest) come last and may be absent from an
older report.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from node.ops.bench_net import BenchError

CATCHUP_BY = ("replay", "snapshot")  # how `--catchup` has the stopped node catch up


@dataclass(frozen=True, slots=True)
class LatencyPercentiles:
    """Commit latency in milliseconds: batch sent -> its block first observed."""

    p50: float
    p95: float
    p99: float


@dataclass(frozen=True, slots=True)
class BenchReport:
    """What a run measured; the field order is the key order of the JSON object."""

    nodes: int
    txs: int
    orgs: int
    accepted: int
    committed: int
    rejected: dict[str, int]  # refused submissions by error code
    blocks: int
    offered_rate: float | None  # tx/s asked for with --rate; None = as fast as accepted
    elapsed_s: float
    tps: float  # committed tx/s
    cores: int
    ed25519_per_core: int  # verifications per second on one core
    ceiling_tps: float  # cores × ed25519_per_core / nodes
    ratio: float  # tps / ceiling_tps
    latency_ms: LatencyPercentiles
    cpu: tuple[float, ...]  # cores busy per node during the load
    rss_mb: float  # peak resident memory of any node
    rss_mb_per_node: tuple[float, ...]
    # Added after the first release, so last, and optional when a report is read back:
    cpu_us_per_tx: tuple[float, ...] = ()  # per node: CPU seconds in the load / committed txs
    catchup_ratio: float | None = None  # --catchup: a restarted node's rate / the commit rate
    access: str = "open"  # the API's access mode under load ("members": every request signed)
    request_sign_us: float | None = None  # signing one POST /v1/txs (client), members only
    request_check_us: float | None = None  # checking its signature (node), members only
    catchup_by: str | None = None  # --catchup: "replay" or "snapshot"
    catchup_txs: int | None = None  # --catchup: the txs the restarted node caught up on
    catchup_s: float | None = None  # --catchup: seconds from its spawn to the others' tip

    def to_json(self) -> dict[str, Any]:
        """The report as the JSON object `tally bench --json` prints."""
        value = asdict(self)
        value["cpu"] = list(self.cpu)
        value["cpu_us_per_tx"] = list(self.cpu_us_per_tx)
        value["rss_mb_per_node"] = list(self.rss_mb_per_node)
        return value

    def encode(self) -> str:
        """The one line `tally bench --json` prints."""
        return json.dumps(self.to_json())

    @classmethod
    def decode(cls, text: str | bytes) -> BenchReport:
        try:
            value = json.loads(text)
        except ValueError:
            raise BenchError("BAD_REPORT", "a bench report is one JSON object") from None
        return cls.from_json(value)

    @classmethod
    def from_json(cls, value: Any) -> BenchReport:
        """Read back what `to_json` wrote; anything else is a BAD_REPORT error."""
        if not isinstance(value, dict):
            raise BenchError("BAD_REPORT", "a bench report is a JSON object")
        names = [field.name for field in fields(cls)]
        _require_keys(value, names, "report", optional=_ADDED_LATER)
        latency = value["latency_ms"]
        if not isinstance(latency, dict):
            raise BenchError("BAD_REPORT", "latency_ms must be an object")
        _require_keys(latency, ["p50", "p95", "p99"], "latency_ms")
        return cls(
            nodes=_integer(value["nodes"], "nodes"),
            txs=_integer(value["txs"], "txs"),
            orgs=_integer(value["orgs"], "orgs"),
            accepted=_integer(value["accepted"], "accepted"),
            committed=_integer(value["committed"], "committed"),
            rejected=_counts(value["rejected"]),
            blocks=_integer(value["blocks"], "blocks"),
            offered_rate=None
            if value["offered_rate"] is None
            else _number(value["offered_rate"], "offered_rate"),
            elapsed_s=_number(value["elapsed_s"], "elapsed_s"),
            tps=_number(value["tps"], "tps"),
            cores=_integer(value["cores"], "cores"),
            ed25519_per_core=_integer(value["ed25519_per_core"], "ed25519_per_core"),
            ceiling_tps=_number(value["ceiling_tps"], "ceiling_tps"),
            ratio=_number(value["ratio"], "ratio"),
            latency_ms=LatencyPercentiles(
                p50=_number(latency["p50"], "latency_ms.p50"),
                p95=_number(latency["p95"], "latency_ms.p95"),
                p99=_number(latency["p99"], "latency_ms.p99"),
            ),
            cpu=_numbers(value["cpu"], "cpu"),
            rss_mb=_number(value["rss_mb"], "rss_mb"),
            rss_mb_per_node=_numbers(value["rss_mb_per_node"], "rss_mb_per_node"),
            cpu_us_per_tx=_numbers(value.get("cpu_us_per_tx", []), "cpu_us_per_tx"),
            catchup_ratio=_optional_number(value, "catchup_ratio"),
            access=str(value.get("access", "open")),
            request_sign_us=_optional_number(value, "request_sign_us"),
            request_check_us=_optional_number(value, "request_check_us"),
            catchup_by=_catchup_by(value.get("catchup_by")),
            catchup_txs=None
            if value.get("catchup_txs") is None
            else _integer(value["catchup_txs"], "catchup_txs"),
            catchup_s=_optional_number(value, "catchup_s"),
        )


# Keys a first-release report has none of.
_ADDED_LATER = frozenset(
    {
        "cpu_us_per_tx",
        "catchup_ratio",
        "access",
        "request_sign_us",
        "request_check_us",
        "catchup_by",
        "catchup_txs",
        "catchup_s",
    }
)


def _catchup_by(value: Any) -> str | None:
    if value is not None and value not in CATCHUP_BY:
        raise BenchError("BAD_REPORT", f"catchup_by must be one of {', '.join(CATCHUP_BY)}")
    return None if value is None else str(value)


def _optional_number(value: dict[str, Any], name: str) -> float | None:
    return None if value.get(name) is None else _number(value[name], name)


def _require_keys(
    value: dict[str, Any], names: list[str], what: str, optional: frozenset[str] = frozenset()
) -> None:
    missing = [name for name in names if name not in value and name not in optional]
    unknown = sorted(set(value) - set(names))
    if missing or unknown:
        raise BenchError(
            "BAD_REPORT", f"{what}: missing {missing or 'nothing'}, unknown {unknown or 'nothing'}"
        )


def _integer(found: Any, name: str) -> int:
    if type(found) is not int:
        raise BenchError("BAD_REPORT", f"{name} must be an integer")
    return found


def _number(found: Any, name: str) -> float:
    if type(found) not in (int, float):
        raise BenchError("BAD_REPORT", f"{name} must be a number")
    return float(found)


def _numbers(found: Any, name: str) -> tuple[float, ...]:
    if not isinstance(found, list):
        raise BenchError("BAD_REPORT", f"{name} must be a list of numbers")
    return tuple(_number(item, name) for item in found)


def _counts(found: Any) -> dict[str, int]:
    if not isinstance(found, dict) or any(type(count) is not int for count in found.values()):
        raise BenchError("BAD_REPORT", "rejected must map error codes to counts")
    return dict(found)
