"""The bargain's cut sequence: any settings give whole-fen cuts of at least ¥0.01 that reach the floor
exactly on the last cut, never pass it, honour the first-cut share and come back the same from the seed."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.bargain_algorithm import (
    MAX_CUTS,
    cut_sequence,
    first_cut,
    prices_after_cuts,
    to_fen,
    to_yuan,
)


@st.composite
def bargains(draw):
    floor_fen = draw(st.integers(min_value=0, max_value=10_000_000))
    distance = draw(st.integers(min_value=1, max_value=5_000_000))
    min_cuts = draw(st.integers(min_value=1, max_value=min(distance, 300)))
    max_cuts = draw(st.integers(min_value=min_cuts, max_value=min(MAX_CUTS, min_cuts + 200)))
    share = Decimal(draw(st.integers(min_value=0, max_value=9999))) / 10000
    seed = draw(st.integers(min_value=0, max_value=2**62))
    return to_yuan(floor_fen + distance), to_yuan(floor_fen), min_cuts, max_cuts, share, seed


@settings(max_examples=400, deadline=None)
@given(bargains())
def test_any_settings_give_a_valid_sequence(bargain):
    original, floor, min_cuts, max_cuts, share, seed = bargain
    total = to_fen(original) - to_fen(floor)

    cuts = cut_sequence(total_fen=total, min_cuts=min_cuts, max_cuts=max_cuts, first_share=share, seed=seed)

    assert all(isinstance(c, int) for c in cuts)
    assert min_cuts <= len(cuts) <= min(max_cuts, total)
    assert all(c >= 1 for c in cuts)  # every friend cuts at least ¥0.01
    assert sum(cuts) == total  # the last cut lands exactly on the floor
    prices = prices_after_cuts(original=original, cuts=cuts)
    assert all(p >= floor for p in prices) and prices[-1] == floor
    assert prices == sorted(prices, reverse=True)
    # Reproducible from the stored seed.
    assert cuts == cut_sequence(total_fen=total, min_cuts=min_cuts, max_cuts=max_cuts, first_share=share, seed=seed)
    # The first cut is the share of the distance, only bounded by the 1 fen each later friend must keep.
    if len(cuts) == 1:
        assert cuts == [total]
    else:
        wanted = (total * share).quantize(Decimal(1), rounding="ROUND_HALF_UP")
        assert cuts[0] == max(1, min(int(wanted), total - (len(cuts) - 1)))
        if 1 <= wanted <= total - (len(cuts) - 1):
            assert cuts[0] == wanted


@settings(max_examples=200, deadline=None)
@given(bargains())
def test_later_cuts_are_bounded_and_shrink(bargain):
    original, floor, min_cuts, max_cuts, share, seed = bargain
    total = to_fen(original) - to_fen(floor)
    cuts = cut_sequence(total_fen=total, min_cuts=min_cuts, max_cuts=max_cuts, first_share=share, seed=seed)
    rest = cuts[1:]
    assert rest == sorted(rest, reverse=True)
    if rest:
        # Weights 50..150: no later cut is more than three times another (plus the 1-fen base and rounding).
        assert max(rest) <= 3 * min(rest) + 3


def test_a_different_seed_gives_a_different_sequence():
    runs = {tuple(cut_sequence(total_fen=9_900, min_cuts=8, first_share=Decimal("0.5"), seed=s)) for s in range(20)}
    assert len(runs) > 1


def test_the_first_cut_is_large_by_default_habit():
    cuts = cut_sequence(total_fen=10_000, min_cuts=10, first_share=Decimal("0.6"), seed=7)
    assert cuts[0] == 6_000 and len(cuts) == 10 and sum(cuts[1:]) == 4_000


def test_the_first_cut_leaves_a_fen_for_every_later_friend():
    assert first_cut(total_fen=10, cuts=10, first_share=Decimal("0.9")) == 1
    assert cut_sequence(total_fen=10, min_cuts=10, first_share=Decimal("0.9"), seed=1) == [1] * 10


def test_a_range_of_cuts_is_drawn_by_the_seed_and_capped_by_the_fen_available():
    counts = {
        len(cut_sequence(total_fen=500, min_cuts=3, max_cuts=8, first_share=Decimal("0.3"), seed=s)) for s in range(60)
    }
    assert counts <= set(range(3, 9)) and len(counts) > 1
    assert len(cut_sequence(total_fen=5, min_cuts=3, max_cuts=50, first_share=Decimal("0.3"), seed=3)) <= 5


@pytest.mark.parametrize(
    ("total", "min_cuts", "max_cuts", "share"),
    [
        (0, 1, 1, "0.5"),  # floor not below the price
        (5, 6, 6, "0.5"),  # more cuts than fen
        (100, 0, 3, "0.5"),
        (100, 4, 3, "0.5"),
        (100, 3, 3, "1"),
        (100, 3, 3, "-0.1"),
    ],
)
def test_impossible_settings_are_refused(total, min_cuts, max_cuts, share):
    with pytest.raises(ValueError):
        cut_sequence(total_fen=total, min_cuts=min_cuts, max_cuts=max_cuts, first_share=Decimal(share), seed=1)


def test_money_is_whole_fen():
    assert to_fen(Decimal("12.34")) == 1234
    assert to_yuan(1234) == Decimal("12.34")
    with pytest.raises(ValueError):
        to_fen(Decimal("0.001"))
