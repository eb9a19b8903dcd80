"""Transaction arguments, results and events as a reader sees them: amounts with their
currency's decimals, instants as UTC date-times, every id a link to its page.

Contracts speak in minor units, `*_ms` instants and bare ids; the node passes them on as JSON.
What each field means is told by its name and the record around it (`amount` beside
`currency`, `base_amount` beside `base`, `id` of an escrow event), so the rules are written once
here and every page that shows such a record uses them. With `?raw=1` the page shows the values
as the node sent them, for an auditor reconciling minor units.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from explorer.format import fx_rate, hash_html, money, pretty_json, utc_time

HEX64 = re.compile(r"^[0-9a-f]{64}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
ORG_FIELDS = frozenset(
    ("org", "to", "from", "by", "debtor", "creditor", "bank", "payer", "payee", "holder",
     "proposer", "dealer", "issuer", "participants", "seller", "buyer", "beneficiary",
     "counterparty", "sender", "recipient", "approver", "approvers")
)  # fmt: skip
AMOUNT_FIELDS = frozenset(
    ("amount", "asked", "price", "face", "reduction", "remaining", "net", "gross", "used",
     "paid", "outstanding", "share", "fee", "balance", "limit", "value", "principal")
)  # fmt: skip
HEIGHT_FIELDS = frozenset(("height", "valid_until", "from_height", "to_height", "settled_height"))
DURATION_FIELDS = frozenset(("ttl_ms", "offset_ms", "max_offset_ms"))
# `id` and friends by the contract whose record carries them
ID_PAGES = {"escrow": "/escrow/", "receivables": "/receivable/", "payments": "/payment/"}
REFERENCE_PAGES = {
    "tx": "/tx/",
    "receivable": "/receivable/",
    "piece": "/receivable/",
    "child": "/receivable/",
    "parent": "/receivable/",
    "root": "/receivable/",
    "payment": "/payment/",
    "escrow": "/escrow/",
    "offer": "/fx#quote-",
    "window": "/netting#window-",
    "proposal": "/proposals#proposal-",
}
ID_ANCHORS = {
    "fx": "/fx#quote-",
    "netting": "/netting#window-",
    "governance": "/proposals#proposal-",
    "registry": "/proposals#proposal-",  # governance proposals live in the registry contract
}


def _currency_of(name: str, record: Mapping[str, Any]) -> str | None:
    """Which currency an amount field is in, from the record around it."""
    for prefix in ("base", "quote"):
        if name.startswith(prefix) or name == f"max_{prefix}":
            code = record.get(prefix)
            return code if isinstance(code, str) and CURRENCY.match(code) else None
    code = record.get("currency")
    return code if isinstance(code, str) and CURRENCY.match(code) else None


def _is_amount(name: str) -> bool:
    return name in AMOUNT_FIELDS or name.endswith("_amount") or name.startswith("max_")


def _id_href(name: str, value: str, contract: str) -> str | None:
    if name == "id":
        page = ID_PAGES.get(contract) or ID_ANCHORS.get(contract)
        return f"{page}{value}" if page else None
    if name == "quote" and HEX64.match(value):
        return f"/fx#quote-{value}"
    page = REFERENCE_PAGES.get(name)
    return f"{page}{value}" if page else None


def _org_link(value: str) -> Markup:
    return Markup(f'<a class="org" href="/org/{escape(value)}">{escape(value)}</a>')


class Shown:
    """Renders one record (args, an event, a result) for a page; `contract` names the ids."""

    def __init__(self, decimals: Mapping[str, int], contract: str = "") -> None:
        self.decimals = dict(decimals)
        self.contract = contract

    def value(self, name: str, value: Any, record: Mapping[str, Any]) -> Markup:
        if isinstance(value, Mapping):
            return self.record(value, limits=name in ("daily_limits", "limits"))
        if isinstance(value, list):
            items = [self.value(name, item, record) for item in value]
            return Markup(", ").join(items) if items else Markup('<span class="muted">[]</span>')
        if isinstance(value, bool) or value is None:
            return Markup(f"<code>{escape(pretty_json(value))}</code>")
        if isinstance(value, int):
            return self._number(name, value, record)
        text = str(value)
        if name in ORG_FIELDS and not HEX64.match(text):
            return _org_link(text)
        if HEX64.match(text):
            return hash_html(text, _id_href(name, text, self.contract), 12, 8)
        return Markup(f"<code>{escape(text)}</code>")

    def _number(self, name: str, value: int, record: Mapping[str, Any]) -> Markup:
        raw = f' <span class="rawv">{value}</span>'
        if name.endswith("_ms") and name not in DURATION_FIELDS and value >= 10**11:
            return Markup(f'<span class="when" title="{value}">{utc_time(value)}</span>{raw}')
        if name in HEIGHT_FIELDS or name.endswith("_height"):
            return Markup(f'<a href="/block/{value}">#{value}</a>')
        if name == "rate":  # an FX rate is carried × 10^8
            return Markup(f'<span class="rate">{fx_rate(value)}</span>{raw}')
        currency = _currency_of(name, record) if _is_amount(name) else None
        if currency is not None:
            shown = escape(money(value, currency, self.decimals))
            return Markup(f'<span class="amount" title="{value} minor units">{shown}</span>{raw}')
        return Markup(f"<code>{value}</code>")

    def record(self, record: Mapping[str, Any], limits: bool = False) -> Markup:
        """A mapping as a small key/value table; `limits` is {currency: amount}."""
        rows = []
        for key in sorted(record):
            item = record[key]
            if limits and CURRENCY.match(str(key)) and isinstance(item, int):
                shown = self._number("amount", item, {"currency": key})
            else:
                shown = self.value(str(key), item, record)
            rows.append(f"<tr><th>{escape(key)}</th><td>{shown}</td></tr>")
        if not rows:
            return Markup('<span class="muted">{}</span>')
        return Markup(f'<table class="kv nested">{"".join(rows)}</table>')


def shown_record(record: Any, decimals: Mapping[str, int], contract: str = "") -> Markup:
    """A template's entry point: `record` (args, params, an event) rendered for reading."""
    if not isinstance(record, Mapping):
        return Shown(decimals, contract).value("", record, {})
    return Shown(decimals, contract).record(record)


def shown_field(
    value: Any, name: str, record: Any, decimals: Mapping[str, int], contract: str = ""
) -> Markup:
    """One field `name` of `record` (a tx's argument, a receipt's result)."""
    around = record if isinstance(record, Mapping) else {}
    return Shown(decimals, contract).value(name, value, around)
