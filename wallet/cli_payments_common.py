"""Helpers the payments commands share: rates, the FX base amount, raw fetches, output."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click

from ledger.errors import TallyError
from wallet.cli_common import Session

RATE_SCALE = 10**8
_RATE = re.compile(r"^\d+(\.\d{1,8})?$")


# -- helpers -----------------------------------------------------------------------------------


def parse_rate(text: str) -> int:
    """'0.12820513' -> 12820513 (×10^8), exactly; more than 8 decimals is an error."""
    cleaned = text.strip().replace(",", "")
    if not _RATE.match(cleaned):
        raise TallyError("BAD_RATE", f"{text!r} is not a rate with at most 8 decimals")
    whole, _, fraction = cleaned.partition(".")
    rate = int(whole) * RATE_SCALE + int(fraction.ljust(8, "0") or "0")
    if rate <= 0:
        raise TallyError("BAD_RATE", "the rate must be positive")
    return rate


def format_rate(rate: int) -> str:
    whole, fraction = divmod(rate, RATE_SCALE)
    return f"{whole}.{fraction:08d}"


def base_needed(credit: int, rate: int, base_decimals: int, quote_decimals: int) -> int:
    """The smallest base amount whose floored conversion pays `credit` (see fx.convert)."""
    numerator: int = credit * RATE_SCALE * 10**base_decimals
    denominator: int = rate * 10**quote_decimals
    return -(-numerator // denominator)


def parse_value(text: str) -> Any:
    """A --param value: true/false/null, an integer, or text."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none"):
        return None
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def fetch_raw(session: Session, path: str) -> bytes:
    """GET a non-JSON resource (the ISO 20022 XML); node errors keep their code."""
    try:
        with urllib.request.urlopen(session.node_url.rstrip("/") + path, timeout=30) as answer:
            return bytes(answer.read())
    except urllib.error.HTTPError as error:
        try:
            detail = json.loads(error.read())["error"]
        except (ValueError, KeyError, TypeError):
            raise TallyError("HTTP_ERROR", f"HTTP {error.code} from {path}") from None
        raise TallyError(detail["code"], detail["message"]) from None
    except urllib.error.URLError as error:
        raise TallyError("NODE_UNREACHABLE", f"cannot reach {session.node_url}: {error}") from None


def call(session: Session, contract: str, method: str, args: dict[str, Any]) -> Any:
    receipt = session.client.call(session.signer(), contract, method, args)
    return receipt.get("result")


def write_out(data: bytes, out: str | None) -> None:
    if out is None or out == "-":
        click.echo(data.decode(), nl=False)
    else:
        Path(out).write_bytes(data)
        click.echo(f"wrote {out} ({len(data)} bytes)", err=True)


def party(name: str | None, account: str | None, country: str | None) -> dict[str, str]:
    fields = {"name": name, "account": account, "country": country}
    return {k: v for k, v in fields.items() if v}
