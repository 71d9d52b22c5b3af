"""shequn.prepared: a hot statement is prepared once per database connection and then only executed; a new
connection prepares it again; a rollback of the transaction that prepared it does not take it away. The
referral event insert goes through it (PgBouncer's side of the rule: tests/test_pgbouncer.py)."""

import pytest
from django.db import connection, transaction

from referrals import services
from referrals.models import ReferralEvent
from shequn.prepared import PreparedStatement
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def prepared_here() -> dict[str, int]:
    """The statements prepared on this connection, with how many times each has been executed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, generic_plans + custom_plans FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def add_one(statement: PreparedStatement, value: int) -> int:
    with connection.cursor() as cursor:
        statement.execute(cursor, [value])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)  # it closes the connection: no test transaction around it
def test_a_statement_is_prepared_once_per_connection_and_again_on_a_new_one():
    statement = PreparedStatement("shequn_test_add_one", "SELECT %s + 1", ["integer"])
    assert [add_one(statement, n) for n in (1, 2, 3)] == [2, 3, 4]
    assert prepared_here()["shequn_test_add_one"] == 3  # one PREPARE, three executions
    connection.close()
    assert "shequn_test_add_one" not in prepared_here()  # control: the new connection has none of it
    assert add_one(statement, 41) == 42
    assert prepared_here()["shequn_test_add_one"] == 1


def test_a_rollback_leaves_the_prepared_statement_usable():
    statement = PreparedStatement("shequn_test_rolled_back", "SELECT %s * 2", ["integer"])
    with transaction.atomic():
        assert add_one(statement, 5) == 10
        transaction.set_rollback(True)
    assert add_one(statement, 6) == 12


def test_the_plain_form_casts_each_value_as_prepare_declares_it():
    statement = PreparedStatement("shequn_test_casts", "SELECT %s, %s LIKE '50%%'", ["numeric(12, 2)", "text"])
    assert statement.plain == "SELECT %s::numeric(12, 2), %s::text LIKE '50%%'"
    assert statement.prepare.endswith("AS SELECT $1, $2 LIKE '50%'")
    with pytest.raises(ValueError, match="2 placeholders for 1 types"):
        PreparedStatement("shequn_test_wrong", "SELECT %s, %s", ["text"])


def test_referral_events_are_recorded_through_the_prepared_insert():
    group = GroupFactory()
    inviter, first, second = UserFactory(), UserFactory(), UserFactory()
    before = prepared_here().get("shequn_referral_event_insert", 0)  # earlier tests may have used it
    for n, invitee in enumerate((first, second, first)):  # the third repeats the first's key: no new row
        services.record_campaign_act(
            shop_id=group.shop_id, campaign_id=3, inviter=inviter, invitee=invitee, key=f"k{n % 2}", group=group
        )
    assert prepared_here()["shequn_referral_event_insert"] == before + 3
    assert ReferralEvent.objects.filter(inviter=inviter, campaign_id=3).count() == 2
