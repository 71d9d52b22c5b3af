"""比 contests: a ranked race over a period with prize tiers, settled exactly once at the end (kind.py)."""
