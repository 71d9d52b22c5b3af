"""Hiding and showing (groups.hideable, shared by space posts and replies, check-ins and swap listings): the
pair is set and cleared together, a second hide or show changes nothing, and moderators racing to hide the
same reply hide it once and audit it once (real transactions, one per moderator), with a control that shows
the race is real without the conditional UPDATE."""

import pytest
from django.db import transaction
from django.utils import timezone

from groups import space
from groups.hideable import Hideable
from groups.models import MemberRole
from groups.space_models import PostKind, SpaceComment, SpacePost
from shops.models import AuditEntry
from tests.factories import GroupFactory
from tests.groups.space_support import member_in
from tests.race import Gate, race

MODERATORS = 4


@pytest.mark.django_db
def test_a_second_hide_changes_nothing_and_leaves_the_instance_as_the_database_has_it():
    group = GroupFactory()
    post = space.create_post(group=group, actor=space.Actor(member_in(group)), kind=PostKind.POST, body="二手推车")
    first, second = member_in(group, MemberRole.ADMIN), member_in(group, MemberRole.OWNER)
    stale = SpacePost.objects.get(pk=post.pk)

    assert post.set_hidden(True, by=first) is True
    assert post.is_hidden and post.hidden_by == first
    assert stale.set_hidden(True, by=second) is False
    assert stale.hidden_by == first and stale.hidden_at == post.hidden_at  # the first hide stands

    assert stale.set_hidden(False) is True
    assert (stale.hidden_at, stale.hidden_by) == (None, None)
    assert post.set_hidden(False) is False and not post.is_hidden
    row = SpacePost.objects.get(pk=post.pk)
    assert (row.hidden_at, row.hidden_by) == (None, None)


def _race_hides():
    """Every moderator hides the same reply at once (a reply's hide is audited whoever hides it)."""
    group = GroupFactory()
    post = space.create_post(group=group, actor=space.Actor(member_in(group)), kind=PostKind.POST, body="推车")
    reply = space.add_comment(post=post, actor=space.Actor(member_in(group)), body="广告：加我微信")
    moderators = [member_in(group, MemberRole.ADMIN) for _ in range(MODERATORS)]

    def hide(i):
        with transaction.atomic():
            space.hide_comment(comment=SpaceComment.objects.get(pk=reply.pk), actor=space.Actor(moderators[i]))

    results = race(MODERATORS, hide)
    assert not [r for r in results if isinstance(r, Exception)], results
    return reply, moderators


@pytest.mark.django_db(transaction=True)
def test_moderators_racing_to_hide_a_reply_hide_it_once():
    reply, moderators = _race_hides()

    reply.refresh_from_db()
    assert reply.hidden_by in moderators
    assert AuditEntry.objects.get(action="group.space.comment.hide", target_id=reply.pk).actor == reply.hidden_by


@pytest.mark.django_db(transaction=True)
def test_control_without_the_conditional_update_every_moderator_hides_it(monkeypatch):
    gate = Gate(MODERATORS)

    def unguarded(self, hidden, *, by=None, now=None):
        gate.wait()  # all read the post as shown before anyone writes
        now = now or timezone.now()
        type(self).objects.filter(pk=self.pk).update(hidden_at=now if hidden else None, hidden_by=by)
        return True

    monkeypatch.setattr(Hideable, "set_hidden", unguarded)
    reply, _ = _race_hides()

    assert AuditEntry.objects.filter(action="group.space.comment.hide", target_id=reply.pk).count() == MODERATORS
