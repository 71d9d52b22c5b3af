"""The test database as a DATABASE_URL, for the processes a test starts (a worker, run_schedule)."""

from urllib.parse import quote

from django.db import connection


def url_of_test_database() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"], safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
