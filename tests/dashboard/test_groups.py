"""Group pages: list, create (with cover and tags), edit, lifecycle buttons."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from groups import services
from groups.lifecycle import transition_group
from groups.models import Group, GroupState, GroupTransition, Tag
from tests.factories import GroupFactory, GroupSeriesFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db


def _png(size=(64, 48), noise=False) -> bytes:
    image = Image.new("RGB", size, (200, 120, 60))
    if noise:  # incompressible pixels make a big file from a modest image
        image = Image.frombytes("RGB", size, __import__("os").urandom(size[0] * size[1] * 3))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _group_data(**overrides):
    data = {
        "name": "宝妈好物群",
        "purpose": "sales",
        "kind": "产品",
        "description": "介绍",
        "rules": "不发广告",
        "capacity": 200,
        "threshold": "open",
        "entry_price": "",
        "entry_question": "",
        "new_tags": "",
    }
    data.update(overrides)
    return data


# --- List -------------------------------------------------------------------------------------------


def _make_groups(shop, n, tags, series):
    for i in range(n):
        owner = UserFactory()
        group = services.create_group(
            shop=shop, name=f"群{i}", by=None, tags=tags, owner=owner, series=series if i % 2 else None, capacity=50
        )
        services.add_member(group=group, user=UserFactory(), by=None)


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_group_list_runs_in_constant_queries(viewer_client, shop):
    tags = [TagFactory(shop=shop), TagFactory(shop=shop)]
    series = GroupSeriesFactory(shop=shop)
    url = reverse("dashboard:groups")
    _make_groups(shop, 3, tags, series)
    few = _queries(viewer_client, url)
    _make_groups(shop, 27, tags, series)
    many = _queries(viewer_client, url)
    assert many == few
    html = viewer_client.get(url).content.decode()
    assert html.count('class="badge state-') == 30


def test_group_list_shows_growth_pending_and_owner(viewer_client, shop, applicant):
    group = applicant.group
    owner = UserFactory(display_name="群主小王")
    services.add_member(group=group, user=owner, by=None, role="owner")
    leaver = services.add_member(group=group, user=UserFactory(), by=None)
    services.leave(membership=leaver)
    html = viewer_client.get(reverse("dashboard:groups")).content.decode()
    assert "群主小王" in html
    assert "+2" in html and "−1" in html  # joins_7d 2, leaves_7d 1
    assert f'{reverse("dashboard:group_detail", args=[group.pk])}#pending">1<' in html


def test_group_list_filters(viewer_client, shop, tag):
    series = GroupSeriesFactory(shop=shop)
    tagged = GroupFactory(shop=shop, name="宝妈群", state=GroupState.RECRUITING)
    tagged.tags.add(tag)
    in_series = GroupFactory(shop=shop, name="系列群", series=series, number_in_series=1)
    archived = GroupFactory(shop=shop, name="旧群", state=GroupState.ARCHIVED)
    GroupFactory(name="别家宝妈群")  # another shop

    def names(**params):
        response = viewer_client.get(reverse("dashboard:groups"), params)
        return {g.name for g in response.context["page"]}

    assert names() == {"宝妈群", "系列群", "旧群"}
    assert names(q="宝妈") == {tagged.name}
    assert names(state="archived") == {archived.name}
    assert names(tag=tag.pk) == {tagged.name}
    assert names(series=series.pk) == {in_series.name}
    assert names(state="nonsense") == {"宝妈群", "系列群", "旧群"}  # a bad filter is ignored


def test_group_list_paginates_by_50(viewer_client, shop):
    GroupFactory.create_batch(51, shop=shop)
    first = viewer_client.get(reverse("dashboard:groups"))
    assert len(first.context["page"]) == 50
    second = viewer_client.get(reverse("dashboard:groups"), {"page": 2})
    assert len(second.context["page"]) == 1


# --- Create and edit ----------------------------------------------------------------------------------


def test_operator_creates_a_group_with_tags(operator_client, shop, tag):
    response = operator_client.post(
        reverse("dashboard:group_create"), _group_data(tags=[tag.pk], new_tags="复购客户，大客户, 宝妈")
    )
    group = Group.objects.get(shop=shop, name="宝妈好物群")
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:group_detail", args=[group.pk])
    assert {t.name for t in group.tags.all()} == {"宝妈", "复购客户", "大客户"}
    assert Tag.objects.filter(shop=shop).count() == 3
    assert group.state == GroupState.PREPARING


def test_create_form_defaults_to_the_shops_capacity(operator_client, shop):
    shop.settings.default_group_capacity = 150
    shop.settings.save()
    response = operator_client.get(reverse("dashboard:group_create"))
    assert response.context["form"]["capacity"].value() == 150


def test_a_group_above_the_hard_cap_is_refused_on_the_form(operator_client, shop):
    response = operator_client.post(reverse("dashboard:group_create"), _group_data(capacity=400, new_tags="新标签"))
    assert response.status_code == 200
    assert "容量不能超过本店的群人数上限 350" in "".join(response.context["form"].errors["capacity"])
    assert "容量不能超过本店的群人数上限 350" in response.content.decode()
    assert not Group.objects.filter(shop=shop).exists()
    assert not Tag.objects.filter(shop=shop).exists()  # the typed tag was not created either


def test_a_paid_group_without_price_shows_the_error_on_the_price(operator_client, shop):
    response = operator_client.post(reverse("dashboard:group_create"), _group_data(threshold="paid"))
    assert "付费入群需要设置大于 0 的入群费。" in response.context["form"].errors["entry_price"]
    assert not Group.objects.filter(shop=shop).exists()


def test_a_valid_png_cover_is_accepted(operator_client, shop):
    cover = SimpleUploadedFile("cover.png", _png(), content_type="image/png")
    response = operator_client.post(reverse("dashboard:group_create"), _group_data(cover=cover))
    assert response.status_code == 302
    group = Group.objects.get(shop=shop)
    with group.cover.open("rb") as stored:
        assert Image.open(stored).size == (64, 48)


def test_a_file_that_is_not_an_image_is_refused(operator_client, shop):
    fake = SimpleUploadedFile("cover.png", b"this is not a picture at all", content_type="image/png")
    response = operator_client.post(reverse("dashboard:group_create"), _group_data(cover=fake))
    assert response.status_code == 200
    assert response.context["form"].errors["cover"]
    assert not Group.objects.filter(shop=shop).exists()


def test_an_oversize_image_is_refused_with_a_clear_message(operator_client, shop, settings):
    settings.MAX_IMAGE_UPLOAD_BYTES = 10_000
    big = _png(size=(200, 200), noise=True)
    assert len(big) > 10_000
    cover = SimpleUploadedFile("big.png", big, content_type="image/png")
    response = operator_client.post(reverse("dashboard:group_create"), _group_data(cover=cover))
    assert response.status_code == 200
    [error] = response.context["form"].errors["cover"]
    assert "图片太大" in error and "请上传不超过" in error
    assert not Group.objects.filter(shop=shop).exists()


def test_operator_edits_a_group(operator_client, shop, group, tag):
    url = reverse("dashboard:group_edit", args=[group.pk])
    assert operator_client.get(url).status_code == 200
    response = operator_client.post(url, _group_data(name="新名字", capacity=120, tags=[tag.pk]))
    assert response.status_code == 302
    group.refresh_from_db()
    assert (group.name, group.capacity) == ("新名字", 120)
    assert list(group.tags.all()) == [tag]


def test_edit_refuses_a_capacity_below_the_members(operator_client, group):
    for _ in range(3):
        services.add_member(group=group, user=UserFactory(), by=None)
    response = operator_client.post(reverse("dashboard:group_edit", args=[group.pk]), _group_data(capacity=2))
    assert "群里已有 3 人" in "".join(response.context["form"].errors["capacity"])
    group.refresh_from_db()
    assert group.capacity == 200


def test_edit_keeps_the_cover_when_none_is_uploaded(operator_client, shop):
    cover = SimpleUploadedFile("cover.png", _png(), content_type="image/png")
    operator_client.post(reverse("dashboard:group_create"), _group_data(cover=cover))
    group = Group.objects.get(shop=shop)
    name = group.cover.name
    operator_client.post(reverse("dashboard:group_edit", args=[group.pk]), _group_data(name="改名"))
    group.refresh_from_db()
    assert group.cover.name == name and group.name == "改名"


# --- Lifecycle ----------------------------------------------------------------------------------------


def test_detail_offers_exactly_the_allowed_moves(operator_client, shop):
    group = GroupFactory(shop=shop, state=GroupState.ACTIVE)
    html = operator_client.get(reverse("dashboard:group_detail", args=[group.pk])).content.decode()
    assert 'name="to_state" value="cooling"' in html
    assert 'name="to_state" value="archived"' in html
    assert 'name="to_state" value="preparing"' not in html
    assert 'name="to_state" value="recruiting"' not in html


def test_an_allowed_move_is_applied_and_recorded(operator_client, operator, shop):
    group = GroupFactory(shop=shop, state=GroupState.PREPARING)
    response = operator_client.post(
        reverse("dashboard:group_transition", args=[group.pk]),
        {"to_state": "recruiting", "reason": "种子用户到位"},
        follow=True,
    )
    group.refresh_from_db()
    assert group.state == GroupState.RECRUITING
    transition = GroupTransition.objects.get(group=group)
    assert (transition.from_state, transition.to_state, transition.by, transition.reason) == (
        GroupState.PREPARING,
        GroupState.RECRUITING,
        operator,
        "种子用户到位",
    )
    assert "种子用户到位" in response.content.decode()  # shown in the history


def test_a_disallowed_move_shows_an_error_and_records_nothing(operator_client, shop):
    group = GroupFactory(shop=shop, state=GroupState.ACTIVE)
    response = operator_client.post(
        reverse("dashboard:group_transition", args=[group.pk]), {"to_state": "preparing"}, follow=True
    )
    group.refresh_from_db()
    assert group.state == GroupState.ACTIVE
    assert not GroupTransition.objects.filter(group=group).exists()
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert errors == ["不能从「活跃」变为「筹备中」。"]


def test_an_archived_group_offers_no_moves(operator_client, shop):
    group = GroupFactory(shop=shop, state=GroupState.ACTIVE)
    transition_group(group=group, to_state=GroupState.ARCHIVED)
    html = operator_client.get(reverse("dashboard:group_detail", args=[group.pk])).content.decode()
    assert 'name="to_state"' not in html
    assert "群已归档，不能再变更状态。" in html


def test_every_problem_shows_at_once(operator_client, shop):
    fake = SimpleUploadedFile("cover.png", b"not a picture", content_type="image/png")
    response = operator_client.post(
        reverse("dashboard:group_create"), _group_data(cover=fake, capacity=400, threshold="paid")
    )
    errors = response.context["form"].errors
    assert set(errors) == {"cover", "capacity", "entry_price"}
