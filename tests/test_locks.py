"""shequn.locks against a real PostgreSQL: each racer or holder is a thread on its own connection."""

import threading
import time

import pytest
from django.db import IntegrityError, OperationalError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from shequn import locks
from shequn.locks import Namespace, NotInTransaction
from tests.race import race

pytestmark = pytest.mark.django_db

NS = Namespace.REFERRAL_BINDING
KEY = 2_000_000_001  # no test data has an id this large: nothing else contends for it


def _in_thread(fn):
    """fn() on a fresh connection in another thread: its result, or the exception it raised."""
    outcome = []

    def run():
        try:
            outcome.append(fn())
        except Exception as exc:  # the outcome is the test's data
            outcome.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert outcome, "thread hung"
    return outcome[0]


class Holder:
    """Holds (namespace, key) in an open transaction on another connection until released (`shared`: as a
    shared holder, through lock_many)."""

    def __init__(self, namespace=NS, key=KEY, *, shared=False):
        self.held, self.release, self.failure = threading.Event(), threading.Event(), []
        self.thread = threading.Thread(target=self._run, args=(namespace, key, shared))

    def _run(self, namespace, key, shared):
        try:
            with transaction.atomic():
                if shared:
                    locks.lock_many(shared=[(namespace, key)])
                else:
                    locks.lock(namespace, key)
                self.held.set()
                assert self.release.wait(30)
        except Exception as exc:  # reported by the test
            self.failure.append(exc)
        finally:
            connections.close_all()

    def __enter__(self):
        self.thread.start()
        assert self.held.wait(30), self.failure
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(30)
        assert not self.failure, self.failure


def _try_lock(namespace=NS, key=KEY, timeout=0.3):
    def attempt():
        with transaction.atomic():
            locks.lock(namespace, key, timeout=timeout)
            return "locked"

    return _in_thread(attempt)


def test_outside_a_transaction_it_refuses_to_lock():
    result = _in_thread(lambda: locks.lock(NS, KEY))  # a fresh connection in autocommit

    assert isinstance(result, NotInTransaction), result


def test_a_second_taker_waits_at_most_its_timeout_then_fails():
    with Holder():
        started = time.monotonic()
        result = _try_lock(timeout=0.3)
        waited = time.monotonic() - started

    assert isinstance(result, OperationalError) and "lock timeout" in str(result), result
    assert 0.3 <= waited < 10


def test_the_lock_is_released_when_its_transaction_ends():
    with Holder():
        assert isinstance(_try_lock(), OperationalError)

    assert _try_lock() == "locked"


def test_other_keys_and_other_namespaces_do_not_wait():
    with Holder():
        assert _try_lock(key=KEY + 1) == "locked"
        assert _try_lock(namespace=Namespace.ANALYTICS_FACTS) == "locked"


def test_the_transactions_own_lock_timeout_is_back_once_the_lock_is_held():
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '7s'")
        locks.lock(NS, KEY, timeout=2)
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == "7s"


def test_a_lock_and_several_locks_each_cost_one_statement():
    with transaction.atomic(), CaptureQueriesContext(connection) as one:
        locks.lock(NS, KEY)
    with transaction.atomic(), CaptureQueriesContext(connection) as many:
        locks.lock_many(exclusive=[(NS, KEY), (NS, KEY + 1)], shared=[(Namespace.ANALYTICS_FACTS, KEY)])

    assert len(one) == 1 and len(many) == 1, [q["sql"] for q in [*one, *many]]


def test_several_locks_wait_at_most_their_timeout_then_keep_the_transactions_own():
    with Holder():
        started = time.monotonic()
        result = _in_thread(lambda: _lock_many_in_transaction(exclusive=[(NS, KEY + 1), (NS, KEY)], timeout=0.3))
        waited = time.monotonic() - started
    assert isinstance(result, OperationalError) and "lock timeout" in str(result), result
    assert 0.3 <= waited < 10

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '7s'")
        locks.lock_many(exclusive=[(NS, KEY)], shared=[(NS, KEY + 1)], timeout=2)
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == "7s"


def _lock_many_in_transaction(**wanted):
    with transaction.atomic():
        locks.lock_many(**wanted)
        return "locked"


def test_shared_holders_do_not_wait_for_each_other_but_an_exclusive_taker_waits_for_them():
    with Holder(shared=True):
        assert _in_thread(lambda: _lock_many_in_transaction(shared=[(NS, KEY)], timeout=0.3)) == "locked"
        assert isinstance(_try_lock(timeout=0.3), OperationalError)


def test_keys_and_namespaces_outside_the_scheme_are_refused():
    with transaction.atomic():
        with pytest.raises(ValueError):
            locks.lock(0x5EF, KEY)  # a bare number is not a listed namespace
        with pytest.raises(ValueError):
            locks.lock(NS, 2**31)
        with pytest.raises(ValueError):
            locks.lock(NS, KEY, timeout=0)


def test_pair_keys_fit_in_32_bits_and_tell_pairs_apart():
    keys = {locks.pair_key(campaign, member) for campaign in (1, 2, 10**9) for member in (1, 2, 10**9)}
    assert len(keys) == 9
    assert all(locks.INT4_MIN <= key <= locks.INT4_MAX for key in keys)


def _racing_increments(*, locked: bool) -> dict:
    """8 racers each read a shared value, pause, and write it back plus one, in their own transactions."""
    state = {"value": 0, "inside": 0, "overlap": False}
    guard = threading.Lock()

    def act(_i):
        with transaction.atomic():
            if locked:
                locks.lock(NS, KEY, timeout=20)
            with guard:
                state["inside"] += 1
                state["overlap"] |= state["inside"] > 1
            seen = state["value"]
            time.sleep(0.05)
            state["value"] = seen + 1
            with guard:
                state["inside"] -= 1

    results = race(8, act)
    assert not [r for r in results if isinstance(r, Exception)], results
    return state


def test_racers_under_the_lock_take_turns():
    assert _racing_increments(locked=True) == {"value": 8, "inside": 0, "overlap": False}


def test_control_racers_without_the_lock_overlap_and_lose_increments():
    state = _racing_increments(locked=False)

    assert state["overlap"] and state["value"] < 8


# --- Hot rows last --------------------------------------------------------------------------------------


def test_hot_row_writes_run_last_by_rank_then_in_the_order_handed_in():
    done = []
    with transaction.atomic(), locks.hot_rows_last():
        locks.take_last(locks.Rank.CAMPAIGN_CAPS, lambda: done.append("cap"))
        locks.take_last(locks.Rank.SKU_STOCK, lambda: done.append("sku 1"))
        with locks.hot_rows_last():  # a nested block hands its writes to the outermost one
            locks.take_last(locks.Rank.SKU_STOCK, lambda: done.append("sku 2"))
        done.append("body")
    assert done == ["body", "sku 1", "sku 2", "cap"]


def test_without_a_block_a_hot_row_write_runs_at_once():
    done = []
    locks.take_last(locks.Rank.SKU_STOCK, lambda: done.append("now"))
    assert done == ["now"]


def test_a_failing_body_or_a_rolled_back_savepoint_drops_its_writes():
    done = []
    with pytest.raises(ValueError), transaction.atomic(), locks.hot_rows_last():
        locks.take_last(locks.Rank.SKU_STOCK, lambda: done.append("dropped"))
        raise ValueError
    with transaction.atomic(), locks.hot_rows_last():
        locks.take_last(locks.Rank.SKU_STOCK, lambda: done.append("kept"))
        with pytest.raises(ValueError), transaction.atomic():
            locks.take_last(locks.Rank.SKU_STOCK, lambda: done.append("rolled back"))
            raise ValueError
        with transaction.atomic():  # a savepoint released, not rolled back: its write counts
            locks.take_last(locks.Rank.CAMPAIGN_CAPS, lambda: done.append("released"))
    assert done == ["kept", "released"]


def test_a_refusing_write_refuses_the_transaction_and_leaves_no_block_behind():
    with pytest.raises(ValueError), transaction.atomic(), locks.hot_rows_last():
        locks.take_last(locks.Rank.SKU_STOCK, lambda: (_ for _ in ()).throw(ValueError("short")))
    done = []
    locks.take_last(locks.Rank.SKU_STOCK, lambda: done.append("now"))  # no block is left open
    assert done == ["now"]


def test_a_hot_rows_last_block_outside_a_transaction_is_refused():
    def enter():
        with locks.hot_rows_last():
            pass

    assert isinstance(_in_thread(enter), NotInTransaction)  # a fresh connection in autocommit


def _group_of_a_shop_not_there_yet(shop_id: int):
    from groups.models import Group

    return Group.objects.create(shop_id=shop_id, name="未建店的群", capacity=10)  # its foreign key: checked at COMMIT


@pytest.mark.django_db(transaction=True)  # a real COMMIT, where the deferred checks run
def test_the_checks_deferred_to_commit_run_before_the_hot_rows_are_written():
    done = []
    with pytest.raises(IntegrityError), transaction.atomic():
        with locks.hot_rows_last():
            _group_of_a_shop_not_there_yet(2_000_000_001)
            locks.take_last(locks.Rank.SKU_STOCK, lambda: done.append("hot row"))
        done.append("after the block")  # never reached: the check failed before the hot row was written

    assert done == []


@pytest.mark.django_db(transaction=True)  # a real COMMIT, where the deferred checks run
def test_control_without_hot_rows_the_deferred_check_fails_only_at_commit():
    done = []
    with pytest.raises(IntegrityError), transaction.atomic():
        with locks.hot_rows_last():
            _group_of_a_shop_not_there_yet(2_000_000_001)
        done.append("after the block")

    assert done == ["after the block"]


def test_after_the_hot_rows_later_writes_are_checked_at_commit_again():
    from shops.models import Shop

    with transaction.atomic():
        with locks.hot_rows_last():
            locks.take_last(locks.Rank.SKU_STOCK, lambda: None)
        group = _group_of_a_shop_not_there_yet(2_000_000_002)  # deferred again: the shop may come later
        Shop.objects.create(pk=2_000_000_002, name="后建的店", slug="later-shop")

    assert Shop.objects.get(pk=group.shop_id).name == "后建的店"


def _deferrable_but_initially_immediate() -> list:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace AND condeferrable AND NOT condeferred"
        )
        return [table for (table,) in cursor.fetchall()]


def test_every_deferrable_constraint_starts_deferred():
    """hot_rows_last switches every constraint back to DEFERRED once the pending checks have run: that is
    each one's own mode only while no deferrable constraint is INITIALLY IMMEDIATE."""
    assert _deferrable_but_initially_immediate() == []


def test_control_a_deferrable_constraint_that_starts_immediate_is_found():
    with connection.cursor() as cursor:  # undone with the test's transaction
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'groups_group'::regclass AND contype = 'f' "
            "AND condeferrable LIMIT 1"
        )
        (name,) = cursor.fetchone()
        cursor.execute(f'ALTER TABLE groups_group ALTER CONSTRAINT "{name}" DEFERRABLE INITIALLY IMMEDIATE')

    assert _deferrable_but_initially_immediate() == ["groups_group"]
