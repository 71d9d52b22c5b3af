"""秒 Flash sale (秒杀), one package: its kind and rules (kind.py), forms, member pages (views.py, urls.py),
member API (api.py, api_urls.py), admin and templates. Nothing is imported here: campaigns.models imports
models.py while the app loads, before the kind's rules may be."""
