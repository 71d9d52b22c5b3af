"""Order lifecycle hooks (after the yudao mall's): campaigns plug into orders here, so the order
code never imports campaigns. A plug-in is any object with some of these methods, each taking the
order, called inside the transaction that makes the change; raising ValidationError refuses it.

    after_create, after_paid, after_cancel, before_ship, after_refund

and one read, page_after_payment (below), for where the member goes once they have paid.
"""

HOOK_NAMES = ("after_create", "after_paid", "after_cancel", "before_ship", "after_refund")
_plugins: list[object] = []


def register(plugin: object) -> None:
    """Register a plug-in once (call from an AppConfig.ready)."""
    if plugin not in _plugins:
        _plugins.append(plugin)


def run(name: str, order) -> None:
    assert name in HOOK_NAMES, name
    for plugin in _plugins:
        method = getattr(plugin, name, None)
        if method is not None:
            method(order)


def source_label(order) -> str | None:
    """Where an order came from, in words for operators, when a plug-in placed it (a campaign: 拼团活动
    「…」); None for the order core's own sources. A read; plug-ins answer with a method of the same name."""
    for plugin in _plugins:
        method = getattr(plugin, "source_label", None)
        label = method(order) if method is not None else None
        if label:
            return label
    return None


def page_after_payment(order) -> str | None:
    """Where a member who has just paid for `order` goes on: the first plug-in page that answers for it
    (a 拼团 seat: the team page, where the member invites friends), else None (the order page). A read,
    outside the order's transactions; plug-ins answer with a method of the same name."""
    for plugin in _plugins:
        method = getattr(plugin, "page_after_payment", None)
        url = method(order) if method is not None else None
        if url:
            return url
    return None
