"""Referral event hooks: leaderboards (and anything else that keeps a live view of the events) plug in
here, so the recording code never imports them. A plug-in is any object with some of these methods,
called inside the transaction that records or voids (use `transaction.on_commit` for Redis writes):

    event_recorded(event)    one new ReferralEvent (never called for a duplicate)
    events_voided(events)    the events a void just stamped (never one that was voided before)
"""

HOOK_NAMES = ("event_recorded", "events_voided")
_plugins: list[object] = []


def register(plugin: object) -> None:
    """Register a plug-in once (call from an AppConfig.ready)."""
    if plugin not in _plugins:
        _plugins.append(plugin)


def run(name: str, payload) -> None:
    assert name in HOOK_NAMES, name
    for plugin in _plugins:
        method = getattr(plugin, name, None)
        if method is not None:
            method(payload)
