"""The playbook pages and API: who reads, who writes, another shop's objects do not exist, errors in Chinese,
and the list pages cost the same number of queries for one group or many."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from playbooks.defaults import DEFAULT_NAME
from playbooks.models import Playbook, PlaybookStep, RunStep, RunStepState, StepAction
from shops.models import AuditEntry
from tests.playbooks.conftest import client_for
from tests.playbooks.scene import new_group

pytestmark = pytest.mark.django_db


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_a_viewer_reads_every_page_and_sees_no_write_controls(viewer_client, playbook, run):
    task = run.steps.get(action=StepAction.TASK)
    pages = [
        reverse("dashboard:playbooks"),
        reverse("dashboard:playbook_today"),
        reverse("dashboard:playbook_detail", args=[playbook.pk]),
        reverse("dashboard:group_playbook", args=[run.group_id]),
    ]
    for url in pages:
        response = viewer_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert reverse("dashboard:run_step_skip", args=[task.pk]) not in html
        assert reverse("dashboard:playbook_step_add", args=[playbook.pk]) not in html


def test_a_viewer_cannot_write_and_nothing_changes(viewer_client, playbook, run):
    task = run.steps.get(action=StepAction.TASK)
    step = playbook.steps.first()
    writes = [
        (reverse("dashboard:playbook_create"), {"name": "新剧本"}),
        (reverse("dashboard:playbook_install_default"), {}),
        (reverse("dashboard:playbook_edit", args=[playbook.pk]), {"name": "改名"}),
        (reverse("dashboard:playbook_delete", args=[playbook.pk]), {}),
        (reverse("dashboard:playbook_step_add", args=[playbook.pk]), {"day": 1, "at_time": "09:00"}),
        (reverse("dashboard:playbook_step_edit", args=[step.pk]), {"day": 1}),
        (reverse("dashboard:playbook_step_delete", args=[step.pk]), {}),
        (reverse("dashboard:group_playbook_assign", args=[run.group_id]), {"playbook": playbook.pk}),
        (reverse("dashboard:run_step_done", args=[task.pk]), {}),
        (reverse("dashboard:run_step_skip", args=[task.pk]), {}),
        (reverse("dashboard:run_step_reschedule", args=[task.pk]), {"due_at": "2030-01-01T09:00"}),
    ]
    for url, data in writes:
        assert viewer_client.post(url, data).status_code == 403, url
    assert Playbook.objects.get(pk=playbook.pk).name == playbook.name
    assert PlaybookStep.objects.filter(playbook=playbook).count() == 6
    assert RunStep.objects.get(pk=task.pk).state == RunStepState.PENDING


def test_another_shops_objects_do_not_exist(foreign_client, playbook, run):
    task = run.steps.get(action=StepAction.TASK)
    step = playbook.steps.first()
    for url in [
        reverse("dashboard:playbook_detail", args=[playbook.pk]),
        reverse("dashboard:group_playbook", args=[run.group_id]),
        reverse("dashboard:playbook_step_edit", args=[step.pk]),
    ]:
        assert foreign_client.get(url).status_code == 404, url
    for url in [
        reverse("dashboard:playbook_delete", args=[playbook.pk]),
        reverse("dashboard:playbook_step_delete", args=[step.pk]),
        reverse("dashboard:run_step_done", args=[task.pk]),
        reverse("dashboard:run_step_skip", args=[task.pk]),
    ]:
        assert foreign_client.post(url).status_code == 404, url
    assert foreign_client.get(reverse("dashboard:playbook_today")).content.decode().count(run.group.name) == 0
    assert RunStep.objects.get(pk=task.pk).state == RunStepState.PENDING


def test_an_operator_builds_a_playbook_with_errors_in_chinese(operator, shop):
    client = client_for(operator)
    response = client.post(reverse("dashboard:playbook_create"), {"name": "  "})
    assert response.status_code == 200 and "该字段是必填项" in response.content.decode()

    response = client.post(reverse("dashboard:playbook_create"), {"name": "宝妈群培育", "is_active": "on"})
    playbook = Playbook.objects.get(shop=shop, name="宝妈群培育")
    assert response.status_code == 302
    add = reverse("dashboard:playbook_step_add", args=[playbook.pk])

    response = client.post(
        add, {"day": 1, "at_time": "09:00", "action": "campaign", "title": "拼团", "campaign_days": 2}
    )
    assert response.status_code == 400 and "请选择作为模板的活动。" in response.content.decode()
    response = client.post(
        add, {"day": 1, "at_time": "09:00", "action": "message", "title": "欢迎", "campaign_days": 2}
    )
    assert response.status_code == 400 and "消息和公告需要填写内容。" in response.content.decode()
    response = client.post(
        add, {"day": 0, "at_time": "09:00", "action": "message", "title": "欢迎", "body": "欢迎", "campaign_days": 2}
    )
    assert response.status_code == 302
    step = playbook.steps.get()
    assert step.author == operator

    response = client.post(reverse("dashboard:playbook_create"), {"name": "宝妈群培育"})
    assert "本店已有同名剧本。" in response.content.decode()
    assert AuditEntry.objects.filter(shop=shop, action="playbook.step.save", actor=operator).exists()


def test_the_default_playbook_is_one_click_and_a_used_playbook_cannot_be_deleted(owner, shop):
    client = client_for(owner)
    response = client.post(reverse("dashboard:playbook_install_default"))
    playbook = Playbook.objects.get(shop=shop, name=DEFAULT_NAME)
    assert response.status_code == 302 and playbook.is_default and playbook.steps.count() >= 7
    group = new_group(shop, members=0)
    assert group.playbook_run.playbook == playbook

    response = client.post(reverse("dashboard:playbook_delete", args=[playbook.pk]), follow=True)
    assert "已有群在使用这个剧本" in response.content.decode()
    assert Playbook.objects.filter(pk=playbook.pk).exists()


def test_an_operator_skips_reschedules_and_completes_from_the_timeline(operator, run):
    client = client_for(operator)
    task = run.steps.get(action=StepAction.TASK)
    message = run.steps.get(position=1)
    timeline = reverse("dashboard:group_playbook", args=[run.group_id])

    later = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(reverse("dashboard:run_step_reschedule", args=[task.pk]), {"due_at": later}).status_code == 302
    assert timezone.localtime(RunStep.objects.get(pk=task.pk).due_at).strftime("%Y-%m-%dT%H:%M") == later
    assert client.post(reverse("dashboard:run_step_done", args=[task.pk]), {"note": "已讲"}).status_code == 302
    response = client.post(reverse("dashboard:run_step_done", args=[message.pk]), follow=True)
    assert "自动步骤由系统执行" in response.content.decode()
    assert client.post(reverse("dashboard:run_step_skip", args=[message.pk]), {"next": timeline}).url == timeline
    assert (
        client.post(reverse("dashboard:run_step_skip", args=[message.pk]), {"next": "https://evil.example/"}).url
        == timeline
    )
    states = dict(RunStep.objects.filter(pk__in=[task.pk, message.pk]).values_list("pk", "state"))
    assert states == {task.pk: RunStepState.DONE, message.pk: RunStepState.SKIPPED}
    html = client.get(timeline).content.decode()
    assert operator.public_name in html


def test_a_group_without_a_run_gets_one_from_its_timeline(operator, shop, group, playbook):
    client = client_for(operator)
    assert (
        client.post(reverse("dashboard:group_playbook_assign", args=[group.pk]), {"playbook": playbook.pk}).status_code
        == 302
    )
    assert group.playbook_run.steps.count() == 6
    assert AuditEntry.objects.filter(shop=shop, action="playbook.assign", actor=operator).exists()


def test_the_list_pages_cost_the_same_for_one_group_or_many(viewer_client, shop, playbook):
    new_group(shop, name="一群", members=0)
    urls = [reverse("dashboard:playbook_today"), reverse("dashboard:playbooks")]
    few = [_queries(viewer_client, url) for url in urls]
    for n in range(4):
        new_group(shop, name=f"多群{n}", members=0)
    Playbook.objects.create(shop=shop, name="另一个")
    many = [_queries(viewer_client, url) for url in urls]
    assert many == few
    run = shop.groups.get(name="多群0").playbook_run
    timeline = reverse("dashboard:group_playbook", args=[run.group_id])
    first = _queries(viewer_client, timeline)
    RunStep.objects.filter(run=run).update(state=RunStepState.DONE, done_at=timezone.now())
    assert _queries(viewer_client, timeline) == first


def test_todays_page_shows_done_and_overdue(viewer_client, shop, playbook):
    from playbooks import services

    group = new_group(shop, members=1)
    now = timezone.now()
    RunStep.objects.filter(run=group.playbook_run).update(due_at=now - timedelta(hours=1))
    services.run_due_steps(now=now)
    html = viewer_client.get(reverse("dashboard:playbook_today")).content.decode()
    assert 'data-state="done"' in html and 'data-state="overdue"' in html


# --- The API --------------------------------------------------------------------------------------------


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_the_api_reads_and_moves_steps_for_operators_only(operator, viewer, other_shop, run, playbook):
    from tests.factories import OperatorFactory

    task = run.steps.get(action=StepAction.TASK)
    viewer_api, operator_api = _api(viewer), _api(operator)
    foreign_api = _api(OperatorFactory(shop=other_shop, role="owner").user)

    listed = viewer_api.get(reverse("api-shop-playbooks")).json()
    assert [p["name"] for p in listed["results"]] == [playbook.name] and len(listed["results"][0]["steps"]) == 6
    timeline = viewer_api.get(reverse("api-shop-group-playbook", args=[run.group_id])).json()
    assert timeline["playbook"]["id"] == playbook.pk and len(timeline["steps"]) == 6
    assert viewer_api.get(reverse("api-shop-playbook-today")).status_code == 200
    assert foreign_api.get(reverse("api-shop-group-playbook", args=[run.group_id])).status_code == 404

    done = reverse("api-shop-run-step-done", args=[task.pk])
    assert viewer_api.post(done, {}, format="json").status_code == 403
    assert foreign_api.post(done, {}, format="json").status_code == 404
    response = operator_api.post(done, {"note": "讲完了"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "done"
    assert operator_api.post(done, {}, format="json").status_code == 400  # done already

    message = run.steps.get(position=1)
    reschedule = reverse("api-shop-run-step-reschedule", args=[message.pk])
    assert operator_api.post(reschedule, {"due_at": "yesterday"}, format="json").status_code == 400
    at = (timezone.now() + timedelta(days=1)).isoformat()
    assert operator_api.post(reschedule, {"due_at": at}, format="json").status_code == 200
    skip = reverse("api-shop-run-step-skip", args=[message.pk])
    assert operator_api.post(skip, {"note": "x" * 201}, format="json").status_code == 400
    assert operator_api.post(skip, {}, format="json").json()["state"] == "skipped"
