"""Ranges shared by forms, serializers and models: every number a person or a program sends has one.

A value outside its range is a field error naming the range, never a query the database refuses
(tests/test_input_bounds.py sweeps every form and API input with boundary values).
"""

MAX_ID = 2**63 - 1  # ids are PostgreSQL bigints (DEFAULT_AUTO_FIELD)
MAX_GROUP_SIZE = 10_000  # capacity, hard cap and rotation threshold (a WeChat group holds 500)
MAX_LINK_USES = 1_000_000
MAX_MINUTES = 30 * 24 * 60  # payment and bargain time limits: thirty days
MAX_JOIN_WINDOW_HOURS = 30 * 24  # how long after a campaign share page's visit a join is credited to it
# A bargain is "near its floor" with this share of the way down (in %) left to cut, or one cut left: past half
# the way the message would say "nearly there" too early to mean it.
MAX_NEAR_FLOOR_PERCENT = 50
MAX_COUPON_NOTICE_HOURS = 7 * 24  # how long before a coupon's end its member is reminded: at most a week
MAX_REWARD_CAP = 10_000  # rewards per inviter and period
MAX_USAGE_CYCLE_DAYS = 3650  # a product's usage cycle: ten years
MAX_PER_MEMBER_LIMIT = 100_000  # units one member may buy of a SKU
MAX_CAMPAIGN_NUMBER = 10_000_000  # a campaign's stock cap and per-member limit: far above any real campaign
