"""拼 Group buy (拼团), one package: its kind and rules (kind.py), models, forms, member pages (views.py,
urls.py), member API (api.py, serializers.py, api_urls.py), admin and templates. Nothing is imported here:
campaigns.models imports models.py while the app loads, before the kind's rules may be."""
