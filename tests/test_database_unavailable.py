"""With the database unreachable, the web tier answers a clean 503 (HTML for pages, JSON for the API and
/healthz) that names the database and nothing of its address, never an error page with a traceback.

The outage is real: the default connection is pointed at a local port nobody listens on, so every
connect is refused by the operating system. (transactional_db: no test transaction holds the old
connection open.)
"""

import socket

import pytest
from django.db import connection

from tests.factories import InviteLinkFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def link(group):
    return InviteLinkFactory(group=group)


class Outage:
    def __init__(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.saved = dict(connection.settings_dict)
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(self.port))

    def end(self):
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(self.saved)


@pytest.fixture
def database_down():
    outage = Outage()
    yield outage.port
    outage.end()


def test_a_page_answers_a_clean_503(client, link, database_down):
    response = client.get(f"/m/j/{link.code}/")
    html = response.content.decode()
    assert response.status_code == 503 and response["Content-Type"].startswith("text/html")
    assert "数据库无法连接" in html and response["Retry-After"]
    assert "Traceback" not in html and str(database_down) not in html and "127.0.0.1" not in html


def test_the_api_answers_json(client, link, database_down):
    response = client.get(f"/api/v1/links/{link.code}/")
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False} and "数据库无法连接" in response.json()["detail"]
    assert str(database_down) not in response.content.decode()


def test_healthz_names_the_database_without_its_address(client, database_down):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503 and body["status"] == "unavailable"
    assert body["database"] == {"ok": False, "error": "unreachable"} and "database: unreachable" in body["reasons"]
    assert str(database_down) not in response.content.decode() and "127.0.0.1" not in response.content.decode()
    assert "outboxes" not in body


def test_the_site_serves_again_once_the_database_is_back(client, link):
    outage = Outage()
    try:
        assert client.get(f"/m/j/{link.code}/").status_code == 503
    finally:
        outage.end()
    assert client.get(f"/m/j/{link.code}/").status_code == 200


def test_healthz_names_redis_without_its_address(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503 and body["redis"] == {"ok": False, "error": "unreachable"}
    assert "127.0.0.1" not in response.content.decode() and ":1/" not in response.content.decode()
