"""A question's first reply is set once, however many replies race for it (real transactions, one per
responder), with a control that shows the race is real without the guard."""

import pytest
from django.db import transaction

from groups import space
from groups.models import MemberRole
from groups.space_models import PostKind, SpaceComment, SpacePost
from tests.factories import GroupFactory
from tests.groups.space_support import member_in
from tests.race import Gate, race

pytestmark = pytest.mark.django_db(transaction=True)

RESPONDERS = 4


def _race_replies(monkeypatch, claim):
    """Every responder inserts their reply, then all try to claim the first reply at once."""
    group = GroupFactory()
    asker = member_in(group)
    responders = [member_in(group, MemberRole.ADMIN) for _ in range(RESPONDERS)]
    question = space.create_post(group=group, actor=space.Actor(asker), kind=PostKind.QUESTION, body="?")
    gate, claims = Gate(RESPONDERS), []

    def gated(post, comment):
        gate.wait()  # all replies are written before anyone claims
        won = claim(post, comment)
        claims.append(won)
        return won

    monkeypatch.setattr(space, "_claim_first_reply", gated)

    def reply(i):
        with transaction.atomic():
            return space.add_comment(post=question, actor=space.Actor(responders[i]), body=f"答{i}")

    results = race(RESPONDERS, reply)
    assert not [r for r in results if isinstance(r, Exception)], results
    question.refresh_from_db()
    return question, claims


def test_the_first_reply_is_claimed_once(monkeypatch):
    question, claims = _race_replies(monkeypatch, space._claim_first_reply)

    assert claims.count(True) == 1
    assert SpaceComment.objects.filter(post=question).count() == RESPONDERS
    first = SpaceComment.objects.get(post=question, author=question.first_responder)
    assert question.first_reply_at == first.created_at


def test_control_without_the_guard_every_reply_claims_it(monkeypatch):
    def unguarded(post, comment):
        return (
            SpacePost.objects.filter(pk=post.pk).update(
                first_reply_at=comment.created_at, first_responder_id=comment.author_id
            )
            == 1
        )

    _question, claims = _race_replies(monkeypatch, unguarded)
    assert claims.count(True) == RESPONDERS  # each overwrote the one before: the race the guard closes
