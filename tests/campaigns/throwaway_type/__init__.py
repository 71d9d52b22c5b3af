"""A throwaway campaign type, 打卡 "stamp" (check in N times), written as a new type is: one package with
its kind (kind.py), member pages (urls.py), member API (api_urls.py) and templates, and no line of the engine
changed. tests/campaigns/test_type_package.py installs it through the registry and uses it end to end."""
