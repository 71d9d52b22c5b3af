"""The charts' library is Apache ECharts from the npm registry at one pinned version, committed under
static/vendor (no CDN, no npm at build time: a clean clone and CI have it), with its Chinese locale built in."""

import hashlib
import re
from pathlib import Path

from django.conf import settings

VENDOR = Path(settings.BASE_DIR) / "static" / "vendor" / "echarts"


def test_the_vendored_file_is_the_pinned_npm_release_it_says_it_is():
    note = (VENDOR / "VERSION").read_text(encoding="utf-8")
    assert re.search(r"npm pack echarts@\d+\.\d+\.\d+\b", note), "the version must be pinned"
    recorded = re.search(r"sha256 of echarts\.min\.js: ([0-9a-f]{64})", note).group(1)
    assert hashlib.sha256((VENDOR / "echarts.min.js").read_bytes()).hexdigest() == recorded
    assert (VENDOR / "LICENSE").exists() and (VENDOR / "NOTICE").exists()


def test_the_build_carries_the_chinese_locale_the_pages_ask_for():
    script = (VENDOR / "echarts.min.js").read_text(encoding="utf-8")
    assert '"ZH"' in script and "数据视图" in script  # the ZH locale's own strings are in the full build
    charts = (Path(settings.BASE_DIR) / "static" / "analytics" / "charts.js").read_text(encoding="utf-8")
    assert "locale: locale" in charts
