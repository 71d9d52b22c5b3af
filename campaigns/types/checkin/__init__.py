"""打卡 Check-ins: a daily check-in campaign in the shop's groups, with streaks, make-up cards (补卡),
milestone rewards, group boards on the leaderboard machinery and a feed of today's check-ins.

The rules live in kind.py; the rows in models.py."""
