"""Builders for the tests: objects made through the product's own services (an order placed and paid, a
campaign created and scheduled, a member who joined through a link), so what a test starts from is what
the product makes. Plain rows without rules come from tests/factories.py. The conftest.py files hold the
fixtures only, built from these."""
