"""券 Coupons (优惠券), one package: its kind and rules (kind.py: templates, claiming, granting, using,
giving back, voiding), models, forms, member pages (views.py, urls.py: the coupon centre and the claim),
member API (api.py, api_urls.py), checkout plug-in (checkout.py), admin and templates. A coupon template is
a campaign of type "coupon"; each member's coupon is a `Coupon` row. Nothing is imported here:
campaigns.models imports models.py while the app loads, before the kind's rules may be."""
