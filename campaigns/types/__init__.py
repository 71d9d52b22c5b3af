"""One module per campaign type; each registers its `CampaignKind` with `campaigns.registry`."""
