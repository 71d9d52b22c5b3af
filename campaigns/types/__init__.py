"""One package per campaign type (`<code>/`: kind.py registering its `CampaignKind` with campaigns.registry,
and its models, forms, views, URLs, API, admin and templates); base.py is the kind's interface."""
