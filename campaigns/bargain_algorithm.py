"""The cut sequence of a bargain (砍价), fixed when the bargain starts. Pure: no database, no clock.

A bargain takes the price from `original` down to `floor` in N cuts. The whole sequence is drawn at
start from a stored seed, so an operator can audit it and the i-th friend always gets the i-th cut:

- every cut is a whole number of fen, at least 1 fen (¥0.01); no floats anywhere;
- the cuts sum exactly to original − floor: the last cut lands on the floor, no cut passes it;
- the first cut is large: `first_share` of the distance (the field's habit), but never so large that
  the friends after it could not each cut at least 1 fen;
- the rest is a bounded random partition: each later cut lies within about ½× to 1½× of their mean
  (before rounding), in shrinking order, so the price never stalls on a run of 1-fen cuts while
  money is left nor drops by a surprise second jackpot;
- the same (distance, cut range, share, seed) always gives the same sequence.

The open-source malls get this wrong in different ways (floats, a first cut that ignores the reserve
for later helpers, no fixed number of helpers); this module is the one place the rule lives.
"""

import random
import secrets
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
# Weights of the cuts after the first: each between WEIGHT_LOW and WEIGHT_HIGH, so a cut is between
# about a third and three times any other one (before the 1-fen base is added).
WEIGHT_LOW, WEIGHT_HIGH = 50, 150
MAX_CUTS = 1000


def to_fen(amount: Decimal) -> int:
    """Yuan (Decimal, two places) to whole fen; refuses fractions of a fen instead of rounding them away."""
    fen = Decimal(amount) * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of fen")
    return int(fen)


def to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(CENT)


def new_seed() -> int:
    """A fresh seed that fits a signed 64-bit column."""
    return secrets.randbits(62)


def first_cut(*, total_fen: int, cuts: int, first_share: Decimal) -> int:
    """The first cut: `first_share` of the distance, rounded half up, kept within [1, total − (cuts − 1)]."""
    if cuts == 1:
        return total_fen
    wanted = int((Decimal(total_fen) * Decimal(first_share)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return max(1, min(wanted, total_fen - (cuts - 1)))


def draw_cut_count(*, total_fen: int, min_cuts: int, max_cuts: int, seed: int) -> int:
    """The number of cuts, drawn from [min_cuts, max_cuts] by the seed, never more than the fen available."""
    _check(total_fen=total_fen, min_cuts=min_cuts, max_cuts=max_cuts)
    return random.Random(f"count:{seed}").randint(min_cuts, min(max_cuts, total_fen))


def cut_sequence(
    *, total_fen: int, min_cuts: int, max_cuts: int | None = None, first_share: Decimal, seed: int
) -> list[int]:
    """The fixed sequence of cuts in fen for a distance of `total_fen` (original − floor).

    `min_cuts`..`max_cuts` is the number of cuts to reach the floor (one number when max is None); the
    count is drawn by the seed. Guarantees: len in range, every cut ≥ 1, sum == total_fen, cut[0] ==
    first_cut(…), reproducible from the seed.
    """
    max_cuts = min_cuts if max_cuts is None else max_cuts
    first_share = Decimal(first_share)
    if not Decimal(0) <= first_share < Decimal(1):
        raise ValueError("first_share must be in [0, 1)")
    count = draw_cut_count(total_fen=total_fen, min_cuts=min_cuts, max_cuts=max_cuts, seed=seed)
    head = first_cut(total_fen=total_fen, cuts=count, first_share=first_share)
    rest = _bounded_partition(total_fen - head, count - 1, random.Random(f"cuts:{seed}"))
    return [head, *rest]


def _bounded_partition(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` fen in `parts` parts, each ≥ 1, summing exactly, from integer weights (largest remainder)."""
    if parts == 0:
        assert total == 0
        return []
    extra = total - parts  # every part gets 1 fen first, then a weighted share of what is left
    weights = sorted((rng.randint(WEIGHT_LOW, WEIGHT_HIGH) for _ in range(parts)), reverse=True)
    whole = sum(weights)
    shares = [extra * w // whole for w in weights]
    remainders = [extra * w % whole for w in weights]
    leftover = extra - sum(shares)  # < parts: one more fen to the largest remainders, earlier first on ties
    for i in sorted(range(parts), key=lambda i: (-remainders[i], i))[:leftover]:
        shares[i] += 1
    return [1 + share for share in shares]


def _check(*, total_fen: int, min_cuts: int, max_cuts: int) -> None:
    if total_fen < 1:
        raise ValueError("the floor must be below the original price")
    if not 1 <= min_cuts <= max_cuts <= MAX_CUTS:
        raise ValueError("need 1 <= min_cuts <= max_cuts <= MAX_CUTS")
    if min_cuts > total_fen:
        raise ValueError("more cuts than fen between the price and the floor")


def prices_after_cuts(*, original: Decimal, cuts: list[int]) -> list[Decimal]:
    """The price after each cut, in yuan: what a friend sees when they cut."""
    price, out = to_fen(original), []
    for cut in cuts:
        price -= cut
        out.append(to_yuan(price))
    return out
