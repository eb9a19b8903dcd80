"""Tx arguments, results and events read with decimals, dates and links (explorer.values)."""

from __future__ import annotations

from explorer.values import shown_field, shown_record

DECIMALS = {"CNY": 2, "USD": 2, "JPY": 0}
ESCROW = "ab" * 32


def test_amounts_carry_their_currencys_decimals_and_the_minor_units_stay_readable() -> None:
    html = shown_record({"currency": "CNY", "amount": 123456, "to": "bigauto"}, DECIMALS)
    assert "1,234.56 CNY" in html
    assert '<span class="rawv">123456</span>' in html  # shown under ?raw=1
    assert '<a class="org" href="/org/bigauto">bigauto</a>' in html


def test_fx_amounts_follow_the_base_currency_and_instants_show_their_date() -> None:
    args = {"base": "USD", "quote": "CNY", "max_base": 500000, "expires_ms": 1767225600000}
    html = shown_record(args, DECIMALS, "fx")
    assert "5,000.00 USD" in html
    assert "2026-01-01 00:00:00 UTC" in html
    ttl = shown_field(60000, "ttl_ms", {}, DECIMALS)
    assert "UTC" not in ttl  # a duration is no instant


def test_ids_inside_events_and_set_limit_params_are_links() -> None:
    event = {"contract": "escrow", "type": "escrow_created", "id": ESCROW, "height": 7}
    html = shown_record(event, DECIMALS, "escrow")
    assert f'href="/escrow/{ESCROW}"' in html
    assert 'href="/block/7"' in html
    params = {"action": "set_limit", "params": {"org": "acme", "currency": "JPY", "amount": 900}}
    shown = shown_record(params, DECIMALS, "governance")
    assert "900 JPY" in shown and 'href="/org/acme"' in shown
    limits = shown_record({"daily_limits": {"CNY": 1000000}}, DECIMALS)
    assert "10,000.00 CNY" in limits


def test_a_quotes_rate_reads_as_a_decimal_and_a_proposal_id_links_to_its_row() -> None:
    assert "0.12820513" in shown_field(12820513, "rate", {}, DECIMALS)
    proposal = shown_record({"id": ESCROW, "action": "set_limit"}, DECIMALS, "registry")
    assert f'href="/proposals#proposal-{ESCROW}"' in proposal
