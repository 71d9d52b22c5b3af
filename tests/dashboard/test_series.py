"""Series (群活码) pages: list, create, detail."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from groups import services
from groups.models import Channel, GroupSeries, GroupState, InviteLink
from tests.factories import TagFactory, UserFactory

pytestmark = pytest.mark.django_db


def _series_data(**overrides):
    data = {
        "name": "护肤交流",
        "rotation_threshold": 150,
        "purpose": "sales",
        "kind": "",
        "description": "",
        "rules": "",
        "capacity": 200,
        "threshold": "open",
        "entry_price": "",
        "entry_question": "",
        "new_tags": "",
    }
    data.update(overrides)
    return data


def _make_series(shop, owner, n, tags):
    for i in range(n):
        series = services.create_series(
            shop=shop, name=f"系列{i}", capacity=10, rotation_threshold=2, by=owner, tags=tags
        )
        services.open_next_group_in_series(series=series, by=owner)


def test_series_list_runs_in_constant_queries(viewer_client, shop, owner):
    tags = [TagFactory(shop=shop), TagFactory(shop=shop)]
    url = reverse("dashboard:series_list")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = viewer_client.get(url)
        assert response.status_code == 200
        return len(ctx.captured_queries), response

    _make_series(shop, owner, 2, tags)
    few, _ = count()
    _make_series(shop, owner, 10, tags)
    many, response = count()
    assert many == few
    assert len(response.context["page"]) == 12
    assert all(s.group_count == 2 for s in response.context["page"])


def test_operator_creates_a_series(operator_client, operator, shop):
    response = operator_client.post(reverse("dashboard:series_create"), _series_data(new_tags="护肤"))
    series = GroupSeries.objects.get(shop=shop)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:series_detail", args=[series.pk])
    assert series.rotation_threshold == 150
    assert [t.name for t in series.tags.all()] == ["护肤"]
    public = InviteLink.objects.get(series=series)
    assert (public.channel, public.inviter) == (Channel.SERIES_CODE, operator)
    [group] = series.groups.all()
    assert group.state == GroupState.RECRUITING


def test_rotation_above_capacity_is_refused_on_the_field(operator_client, shop):
    response = operator_client.post(
        reverse("dashboard:series_create"), _series_data(rotation_threshold=300, capacity=200)
    )
    assert response.status_code == 200
    assert response.context["form"].errors["rotation_threshold"] == ["轮换阈值不能超过群容量。"]
    assert not GroupSeries.objects.exists()


def test_series_above_the_hard_cap_is_refused(operator_client, shop):
    response = operator_client.post(reverse("dashboard:series_create"), _series_data(capacity=400))
    assert "容量不能超过本店的群人数上限 350" in "".join(response.context["form"].errors["capacity"])
    assert not GroupSeries.objects.exists()


def test_series_detail_lists_its_groups_in_order(viewer_client, series, owner):
    public = InviteLink.objects.get(series=series)
    for _ in range(3):
        services.join_via_link(user=UserFactory(), code=public.code)
    response = viewer_client.get(reverse("dashboard:series_detail", args=[series.pk]))
    groups = list(response.context["groups"])
    assert [g.number_in_series for g in groups] == [1]
    assert groups[0].active_member_count == 3
    assert response.context["public_link"] == public
    html = response.content.decode()
    assert public.public_url in html
    assert reverse("dashboard:link_revoke", args=[public.pk]) not in html  # the permanent code has no revoke
