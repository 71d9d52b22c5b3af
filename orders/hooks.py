"""Order lifecycle hooks (after the yudao mall's): campaigns plug into orders here, so the order
code never imports campaigns. A plug-in is any object with some of these methods, each taking the
order, called inside the transaction that makes the change; raising ValidationError refuses it.

    after_create, after_paid, after_cancel, before_ship, after_refund
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
