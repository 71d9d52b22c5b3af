"""Fraud review of referrals (风控审核): detection raises flags, people confirm or clear them.

Detection (`detection.detect`, the beat job `referrals.tasks.detect_fraud`) reads the live events of the last
days and raises one flag per (shop, kind, subject, period) — the unique key makes the job idempotent:
a rerun inserts nothing twice and only adds newly found events to a flag that is still open. Kinds:

- self_referral: someone used their own invite link (refused by the recording code, recorded here by
  `recording.record_self_referral_attempt`), or an invitee acted from a device the inviter themself used;
- ring: A brought (or was helped by) B and B brought A, or a cycle of up to four people;
- shared_device / shared_ip: many different invitees acting from one device or IP within a short window;
- dormant: an inviter's invitees who did nothing (no order, no campaign act) for days after joining;
- burst: more joins brought by one member in one day than the shop's limit (default 20: about as many
  friends as a personal account can add in a day);
- young_account: campaign acts by accounts younger than the shop's limit in minutes.

Review (`review`): `confirm_flag` voids the flag's events through `services.void_events` (they leave every board,
a rebuild never brings them back, and rewards not yet granted are withheld); `clear_flag` dismisses it.
Both record who, when and why. A flag nobody decides before its deadline follows the shop's default
(`apply_deadlines`, beat job `referrals.tasks.apply_flag_deadlines`), recorded as automatic.

The package by concern: `thresholds` (the shop's limits), `recording` (what the recording code refuses;
it imports nothing of the review, so `referrals.services` can call it without an import cycle),
`detection`, `explaining`, `review` (decisions; the one module that calls `referrals.services`) and
`queue` (the reviewer's lists). Other apps use the names below.
"""

from .detection import detect
from .explaining import explain
from .queue import flag_events, flag_for_platform, flag_for_shop, flags_for_platform, flags_for_shop
from .recording import record_self_referral_attempt
from .review import apply_deadlines, clear_flag, confirm_flag, covered_members, decide
from .thresholds import SETTINGS_FIELDS, fraud_settings, update_fraud_settings

__all__ = [
    "SETTINGS_FIELDS",
    "apply_deadlines",
    "clear_flag",
    "confirm_flag",
    "covered_members",
    "decide",
    "detect",
    "explain",
    "flag_events",
    "flag_for_platform",
    "flag_for_shop",
    "flags_for_platform",
    "flags_for_shop",
    "fraud_settings",
    "record_self_referral_attempt",
    "update_fraud_settings",
]
