"""How values read on the pages: amounts with their currency's decimals, UTC times, short hashes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

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


def badge(ok: bool | None, yes: str = "verified", no: str = "failed") -> Markup:
    if ok is None:
        return Markup('<span class="badge neutral">not checked</span>')
    return Markup(f'<span class="badge {"ok" if ok else "bad"}">{escape(yes if ok else no)}</span>')


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


FILTERS = {
    "short": short,
    "hash": hash_html,
    "utc": utc_time,
    "pretty": pretty_json,
    "badge": badge,
    "status": status_badge,
    "money": money,
}
