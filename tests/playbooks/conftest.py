import pytest
from django.test import Client

from tests.factories import OperatorFactory
from tests.playbooks.scene import make_playbook, new_group


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def playbook(shop):
    return make_playbook(shop)


@pytest.fixture
def run(shop, playbook):
    return new_group(shop, members=2).playbook_run


@pytest.fixture
def viewer_client(viewer):
    return client_for(viewer)


@pytest.fixture
def foreign_client(other_shop):
    return client_for(OperatorFactory(shop=other_shop, role="owner").user)
