"""Django system checks for the groups app."""

from __future__ import annotations

from django.core import checks

from groups.qr import MissingCJKFont, find_cjk_font


def check_poster_font(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Error shequn.E001 unless a font that renders Chinese is available for share posters.

    Caught at startup so a missing font fails the deploy, not the first share.
    """
    try:
        find_cjk_font()
    except MissingCJKFont as exc:
        return [
            checks.Error(
                "No CJK font found for share posters / 未找到可显示中文的海报字体.",
                hint=str(exc),
                id="shequn.E001",
            )
        ]
    return []
