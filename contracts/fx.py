"""FX: banks post firm quotes that payments take against, and withdraw them.

A quote says: the dealer bank buys up to `max_base` of `base` and pays `quote` currency at
`rate` (quote units per one base unit, in major units, scaled by 10^8). The rounding rule
(floor, to the quote currency's minor unit) lives in `convert` and docs/cross-border.md.

State:
  fx/quote/<id> -> `Quote` (contracts/fx_records.py) {id, dealer, base, quote, rate, max_base,
                    remaining, expires_ms, status, created_height, created_ms, tx}
  fx/open/<id>  -> 1 while the quote is neither withdrawn nor exhausted (API listing index)
"""

from __future__ import annotations

from dataclasses import replace

from contracts.amounts import checked
from contracts.args import amount, currency, hex_id, integer
from contracts.compliance import require_compliant
from contracts.errors import ensure
from contracts.fx_records import EXHAUSTED, OPEN, WITHDRAWN, Quote
from contracts.registry import get_currency
from contracts.runtime import Context, method
from contracts.wording import decimal_amount, moment

RATE_SCALE = 10**8
MAX_RATE = 10**18


def quote_key(quote_id: str) -> str:
    return "fx/quote/" + quote_id


OPEN_PREFIX = "fx/open/"  # fx/open/<id> -> 1 while a quote is open: the listing index


def _save(ctx: Context, record: Quote) -> None:
    ctx.put(quote_key(record.id), record.to_value())


def convert(base_amount: int, rate: int, base_decimals: int, quote_decimals: int) -> int:
    """Quote-currency minor units for `base_amount` base minor units, rounded down.

    credit = floor(base_amount × rate × 10^quote_decimals / (10^8 × 10^base_decimals)).
    Flooring favours the dealer by less than one minor unit, never the other way round.
    """
    numerator: int = base_amount * rate * 10**quote_decimals
    denominator: int = RATE_SCALE * 10**base_decimals
    return numerator // denominator


def base_for_credit(credit: int, rate: int, base_decimals: int, quote_decimals: int) -> int:
    """The smallest base amount whose conversion is at least `credit` (for "pay X EUR")."""
    numerator: int = credit * RATE_SCALE * 10**base_decimals
    denominator: int = rate * 10**quote_decimals
    return -(-numerator // denominator)


def get_quote(ctx: Context, quote_id: str) -> Quote:
    record = ctx.get(quote_key(quote_id))
    ensure(record is not None, "QUOTE_NOT_FOUND", f"no FX quote {quote_id}")
    return Quote.from_value(record)


def take(ctx: Context, quote_id: str, base_amount: int) -> tuple[Quote, int]:
    """Use `base_amount` of a quote's capacity; return the quote and the credit it gives."""
    record = get_quote(ctx, quote_id)
    ensure(record.status != WITHDRAWN, "QUOTE_WITHDRAWN", f"quote {quote_id} was withdrawn")
    ensure(
        ctx.time_ms <= record.expires_ms,
        "QUOTE_EXPIRED",
        f"quote {quote_id} expired at {moment(record.expires_ms)}, "
        f"block time {moment(ctx.time_ms)}",
        {"expires_ms": record.expires_ms, "block_time_ms": ctx.time_ms},
    )
    base_dec = get_currency(ctx, record.base)["decimals"]
    quote_dec = get_currency(ctx, record.quote)["decimals"]
    ensure(
        base_amount <= record.remaining,
        "QUOTE_EXHAUSTED",
        f"quote {quote_id} has {decimal_amount(record.remaining, base_dec, ',')} {record.base} "
        f"left, {decimal_amount(base_amount, base_dec, ',')} {record.base} asked",
        {"currency": record.base, "remaining": record.remaining, "asked": base_amount},
    )
    credit = checked(
        convert(base_amount, record.rate, base_dec, quote_dec),
        f"the {record.quote} credit of {decimal_amount(base_amount, base_dec, ',')} "
        f"{record.base} at quote {quote_id}",
    )
    ensure(credit > 0, "AMOUNT_TOO_SMALL", "the converted amount rounds down to zero")
    record = replace(record, remaining=record.remaining - base_amount)
    if record.remaining == 0:
        record = replace(record, status=EXHAUSTED)
        ctx.delete(OPEN_PREFIX + quote_id)
    _save(ctx, record)
    return record, credit


@method(
    "fx",
    "quote",
    {
        "base": currency,
        "quote": currency,
        "rate": integer(1, MAX_RATE),
        "max_base": amount,
        "expires_ms": integer(0),
    },
    kinds=("bank",),
)
def quote(
    ctx: Context, base: str, quote: str, rate: int, max_base: int, expires_ms: int
) -> dict[str, str]:
    """A bank posts a firm quote: it buys up to `max_base` of `base`, paying `quote` at `rate`."""
    ensure(base != quote, "SAME_CURRENCY", "a quote needs two different currencies")
    get_currency(ctx, base)
    get_currency(ctx, quote)
    ensure(expires_ms > ctx.time_ms, "QUOTE_EXPIRED", "the quote would expire before it opens")
    require_compliant(ctx, ctx.sender_org)  # the dealer
    quote_id = ctx.new_id()
    record = Quote(
        id=quote_id,
        dealer=ctx.sender_org,
        base=base,
        quote=quote,
        rate=rate,
        max_base=max_base,
        remaining=max_base,
        expires_ms=expires_ms,
        status=OPEN,
        created_height=ctx.height,
        created_ms=ctx.time_ms,
        tx=ctx.tx_id.hex(),
    )
    _save(ctx, record)
    ctx.put(OPEN_PREFIX + quote_id, 1)
    ctx.emit(
        "quoted",
        id=quote_id,
        dealer=ctx.sender_org,
        base=base,
        quote=quote,
        rate=rate,
        max_base=max_base,
        expires_ms=expires_ms,
    )
    return {"id": quote_id}


@method("fx", "withdraw", {"id": hex_id}, kinds=("bank",))
def withdraw(ctx: Context, id: str) -> None:
    """The dealer takes its quote off the market; the unused remainder is no longer firm."""
    record = get_quote(ctx, id)
    ensure(record.dealer == ctx.sender_org, "NOT_AUTHORIZED", "only the dealer withdraws")
    ensure(record.status != WITHDRAWN, "QUOTE_WITHDRAWN", f"quote {id} was withdrawn")
    _save(ctx, replace(record, status=WITHDRAWN))
    ctx.delete(OPEN_PREFIX + id)
    ctx.emit("quote_withdrawn", id=id, dealer=ctx.sender_org, remaining=record.remaining)
