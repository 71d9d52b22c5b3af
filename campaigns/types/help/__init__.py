"""帮 Help/assist (助力), one package: its kind and rules (kind.py), models, forms, member pages (views.py,
urls.py), member API (api.py, api_urls.py), admin and templates, on the friend-assisted base
(campaigns/types/assisted/). Nothing is imported here: campaigns.models imports models.py while the app
loads, before the kind's rules may be."""
