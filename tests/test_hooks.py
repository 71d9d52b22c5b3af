"""The one hook mechanism (shequn.hooks): receivers run by priority, never by app order; a refusable
hook's ValidationError rolls its transaction back; after-commit receivers run only once committed."""

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction

from shequn import hooks
from shequn.hooks import Hook, When
from shops.models import Shop
from tests.factories import ShopFactory


def test_receivers_run_by_priority_whatever_order_they_were_connected_in():
    hook = Hook("test_inside", when=When.INSIDE)
    ran = []
    hook.connect(lambda x: ran.append(("tell", x)), priority=hooks.TELL)
    hook.connect(lambda x: ran.append(("record", x)), priority=hooks.RECORD)
    hook.connect(lambda x: ran.append(("decide", x)), priority=hooks.DECIDE)

    hook.run(1)

    assert ran == [("record", 1), ("decide", 1), ("tell", 1)]


def test_a_priority_is_held_by_one_receiver_and_reconnecting_changes_nothing():
    hook = Hook("test_clash", when=When.INSIDE)

    def first(x):
        return None

    hook.connect(first, priority=10)
    hook.connect(first, priority=10)  # an AppConfig.ready run twice
    with pytest.raises(ImproperlyConfigured):
        hook.connect(lambda x: None, priority=10)
    with pytest.raises(ImproperlyConfigured):
        hook.connect(first, priority=20)
    assert hook.receivers == [(10, first)]
    hook.disconnect(first)
    assert hook.receivers == []


def test_a_read_answers_with_its_first_non_empty_answer_and_asks_no_further():
    hook = Hook("test_read", when=When.READ)
    asked = []
    hook.connect(lambda x: asked.append("none") or None, priority=1)
    hook.connect(lambda x: asked.append("found") or f"page/{x}", priority=2)
    hook.connect(lambda x: asked.append("late") or "never", priority=3)

    assert hook.first(7) == "page/7" and asked == ["none", "found"]
    with pytest.raises(TypeError):
        hook.run(7)
    with pytest.raises(TypeError):
        next(Hook("test_action", when=When.INSIDE).answers(7))


@pytest.mark.django_db
def test_a_refusing_receiver_rolls_the_change_back_inside_the_transaction():
    hook = Hook("test_refusable", when=When.INSIDE, refusable=True)
    after = []

    def refuse(shop):
        raise ValidationError("no")

    hook.connect(refuse, priority=hooks.DECIDE)
    hook.connect(after.append, priority=hooks.TELL)

    with pytest.raises(ValidationError), transaction.atomic():
        shop = ShopFactory(name="拒绝的店")
        hook.run(shop)

    assert not Shop.objects.filter(name="拒绝的店").exists()
    assert after == []  # a later receiver never sees a refused change


@pytest.mark.django_db(transaction=True)
def test_after_commit_receivers_run_once_committed_and_never_after_a_rollback(caplog):
    hook = Hook("test_after_commit", when=When.AFTER_COMMIT)
    ran = []

    def broken(tag):
        raise RuntimeError("Redis is down")

    hook.connect(lambda tag: ran.append(("first", tag)), priority=1)
    hook.connect(broken, priority=2)  # logged, never raised: the change is already committed
    hook.connect(lambda tag: ran.append(("last", tag)), priority=3)

    with transaction.atomic():
        hook.run("kept")
        assert ran == []  # not before the commit
    assert ran == [("first", "kept"), ("last", "kept")]
    assert "Redis is down" in caplog.text

    with pytest.raises(RuntimeError, match="rolled back"), transaction.atomic():
        hook.run("lost")
        raise RuntimeError("rolled back")
    assert ran == [("first", "kept"), ("last", "kept")]


def test_the_order_hooks_run_recorders_then_deciders_then_messages():
    """The app order of INSTALLED_APPS decides nothing: notifications sits before campaigns there, but its
    messages run after the campaign kinds have decided what a payment leads to."""
    paid = [receiver for _priority, receiver in hooks.order_paid.receivers]
    names = [f"{r.__module__}.{r.__qualname__}" for r in paid]
    assert names == [
        "referrals.plugins.OrderReferrals.after_paid",
        "referrals.stewards.record_order_paid",
        "orders.reminders.RepurchasePlugin.after_paid",
        "orders.entry.EntryOrders.after_paid",
        "campaigns.plugins.CampaignOrders.after_paid",
        "orders.messages.OrderNotifications.after_paid",
    ]


def test_every_hook_is_named_after_itself_and_documented_where_it_is_defined():
    """The contract of a hook is the string right under its definition: when it runs, whether a receiver
    may refuse, what it answers."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(hooks))
    body = tree.body
    defined = {}
    for statement, following in zip(body, body[1:] + [None], strict=True):
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.value, ast.Call):
            if getattr(statement.value.func, "id", None) == "Hook":
                documented = (
                    isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)
                    and len(following.value.value) > 40
                )
                defined[statement.target.id] = documented
    every_hook = {name for name, value in vars(hooks).items() if isinstance(value, Hook)}
    assert set(defined) == every_hook and len(every_hook) >= 15
    assert [name for name, documented in defined.items() if not documented] == []
    assert all(getattr(hooks, name).name == name for name in every_hook)
