"""The pages in the browser tests (and their screenshots) carry the real style sheets."""

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_the_phone_pages_load_their_style_sheet(phone, live_site):
    response = phone.goto(f"{live_site}/accounts/login/code/")
    assert response.status == 200
    css = phone.evaluate("() => [...document.styleSheets].filter(s => s.href).map(s => [s.href, s.cssRules.length])")
    assert css and all(rules > 0 for _href, rules in css), css
