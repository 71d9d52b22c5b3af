"""送 Give (赠送), one package: its kind and rules (kind.py), models, forms, member pages (views.py, urls.py),
member API (api.py, api_urls.py), admin and templates. Two ways to give: buy one, give one (a paid gift a
friend claims), and invite a friend, both free (请好友喝一杯: zero-price orders for both). Nothing is
imported here: campaigns.models imports models.py while the app loads, before the kind's rules may be."""
