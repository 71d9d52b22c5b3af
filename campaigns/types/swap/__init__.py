"""换 Swaps: a swap market in the campaign's groups; members list items, make offers, agree and confirm the
hand-over; operators moderate.

The rules live in kind.py; the rows in models.py."""
