"""Property: random obligations among 3–10 banks in 1–3 currencies net exactly.

After settlement each bank's balance change equals its net position, positions sum to zero
per currency, and a settlement that fails (a net debtor short of funds) changes no balance.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.xborder_netting_math import net_positions, net_total, settlement_transfers
from tests.support.xborder_chain import HOUR_MS, BigChain, extra_bank_ids

DEV_BANKS = ["bank-a", "bank-b", "bank-c", "bank-d"]
CURRENCIES = ["USD", "JPY", "KWD"]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[int, list[str], list[tuple[str, int, int, int]], int]:
    size = draw(st.integers(3, 10))
    currencies = draw(st.lists(st.sampled_from(CURRENCIES), min_size=1, max_size=3, unique=True))
    obligations = draw(
        st.lists(
            st.tuples(
                st.sampled_from(currencies),
                st.integers(0, size - 1),
                st.integers(0, size - 1),
                st.integers(1, 10**6),
            ).filter(lambda o: o[1] != o[2]),
            max_size=25,
        )
    )
    shortfall = draw(st.sampled_from([0, 0, 1]))  # sometimes fund one debtor one unit short
    return size, currencies, obligations, shortfall


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_settlement_moves_exactly_the_net_positions(
    scenario: tuple[int, list[str], list[tuple[str, int, int, int]], int],
) -> None:
    size, currencies, obligations, shortfall = scenario
    banks = (DEV_BANKS + extra_bank_ids(6))[:size]
    with tempfile.TemporaryDirectory() as tmp:
        chain = BigChain(Path(tmp) / "db", extra_banks=max(0, size - 4))
        try:
            windows = {}
            for code in currencies:
                args = {"currency": code, "participants": banks, "close_ms": chain.now_ms + HOUR_MS}
                windows[code] = chain.call(banks[0], "netting", "open", args)["id"]
            for code, payer, payee, value in obligations:
                args = {"window": windows[code], "to": banks[payee], "amount": value}
                chain.call(banks[payer], "netting", "submit", args)
            expected = {
                code: net_positions(
                    banks, [(banks[p], banks[q], v) for c, p, q, v in obligations if c == code]
                )
                for code in currencies
            }
            short = None
            for code in currencies:
                for bank, position in expected[code].items():
                    need = max(0, -position)
                    if shortfall and short is None and need > 0:
                        short = (code, bank)
                        need -= 1
                    if need:
                        chain.fund(bank, code, need)
            chain.advance_time(ms=HOUR_MS + 1)
            for code in currencies:
                assert sum(expected[code].values()) == 0
                before = {b: chain.balance(code, b) for b in banks}
                receipt = chain.submit(banks[-1], "netting", "settle", {"window": windows[code]})
                after = {b: chain.balance(code, b) for b in banks}
                if short is not None and short[0] == code:
                    assert receipt.error is not None
                    assert receipt.error.code == "INSUFFICIENT_FUNDS"
                    assert short[1] in receipt.error.message
                    assert after == before
                    continue
                assert receipt.status == "ok", receipt.error
                assert receipt.result["positions"] == expected[code]
                assert receipt.result["net"] == net_total(expected[code])
                assert {b: after[b] - before[b] for b in banks} == expected[code]
        finally:
            chain.close()


@given(
    st.dictionaries(
        st.sampled_from(DEV_BANKS + extra_bank_ids(6)), st.integers(-(10**9), 10**9), min_size=1
    )
)
def test_transfers_settle_each_position_exactly(raw: dict[str, int]) -> None:
    positions = dict(raw)
    first = sorted(positions)[0]
    positions[first] -= sum(positions.values())  # make them sum to zero
    transfers = settlement_transfers(positions)
    moved = dict.fromkeys(positions, 0)
    for payer, payee, value in transfers:
        assert value > 0 and positions[payer] < 0 < positions[payee]
        moved[payer] -= value
        moved[payee] += value
    assert moved == positions
    nonzero = sum(1 for v in positions.values() if v)
    assert len(transfers) <= max(0, nonzero - 1)
