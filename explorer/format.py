"""How values read on the pages: amounts with their currency's decimals, UTC times, short hashes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from wallet.amounts import format_amount


def short(value: Any, head: int = 8, tail: int = 6) -> str:
    text = str(value)
    return text if len(text) <= head + tail + 1 else f"{text[:head]}…{text[-tail:]}"


def hash_html(value: Any, href: str | None = None, head: int = 8, tail: int = 6) -> Markup:
    """A shortened monospace hash; the full value on hover, a copy button beside it."""
    text = str(value or "")
    if not text:
        return Markup('<span class="muted">—</span>')
    shown = escape(short(text, head, tail))
    full = escape(text)
    inner = f'<a href="{escape(href)}">{shown}</a>' if href else shown
    return Markup(
        f'<span class="hash" title="{full}"><code>{inner}</code>'
        f'<button type="button" class="copy" data-copy="{full}" aria-label="copy">⧉</button></span>'
    )


def utc_time(time_ms: Any) -> str:
    if not isinstance(time_ms, int):
        return "—"
    moment = datetime.fromtimestamp(time_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def money(minor: Any, currency: str, decimals: dict[str, int]) -> str:
    if not isinstance(minor, int):
        return "—" if minor is None else str(minor)
    return format_amount(minor, decimals.get(currency, 0), currency)


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def badge(
    ok: bool | None, yes: str = "verified", no: str = "failed", trusted: bool = True
) -> Markup:
    """A check's verdict; a pass against an untrusted genesis (the node's own) is amber, never
    green, because it proves consistency only."""
    if ok is None:
        return Markup('<span class="badge neutral">not checked</span>')
    tone = ("ok" if trusted else "warn") if ok else "bad"
    return Markup(f'<span class="badge {tone}">{escape(yes if ok else no)}</span>')


def status_badge(status: Any) -> Markup:
    text = str(status or "—")
    tone = {
        "ok": "ok",
        "committed": "ok",
        "accepted": "ok",
        "settled": "ok",
        "paid": "ok",
        "released": "ok",
        "cancelled": "warn",
        "failed": "bad",
        "rejected": "bad",
        "overdue": "warn",
        "defaulted": "bad",
        "pending": "warn",
        "issued": "neutral",
    }.get(text.lower(), "neutral")
    return Markup(f'<span class="badge {tone}">{escape(text)}</span>')


def fx_rate(rate: Any) -> str:
    """A rate × 10^8 as the decimal it stands for: 12820513 is 0.12820513."""
    if not isinstance(rate, int):
        return "—"
    whole, fraction = divmod(rate, 10**8)
    return f"{whole}.{fraction:08d}"


def from_json(text: Any) -> Any:
    """A JSON column of the index, decoded for a template."""
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None


@pass_context
def money_shown(context: Context, minor: Any, currency: str, decimals: dict[str, int]) -> str:
    """`money`, or the minor units as the node holds them when the page is in raw mode."""
    if context.get("raw") and isinstance(minor, int):
        return f"{minor} {currency} minor units"
    return money(minor, currency, decimals)


@pass_context
def utc_shown(context: Context, time_ms: Any) -> str:
    """`utc_time`, followed by the block-time milliseconds in raw mode."""
    shown = utc_time(time_ms)
    return f"{shown} ({time_ms} ms)" if context.get("raw") and isinstance(time_ms, int) else shown


FILTERS = {
    "rate": fx_rate,
    "fromjson": from_json,
    "short": short,
    "hash": hash_html,
    "utc": utc_shown,
    "pretty": pretty_json,
    "badge": badge,
    "status": status_badge,
    "money": money_shown,
}
