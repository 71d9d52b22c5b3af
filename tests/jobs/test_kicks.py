"""shequn.kicks finds a Celery task by its name, so a service need not import its app's tasks module."""

import subprocess
import sys
import textwrap

import pytest
from celery.exceptions import NotRegistered

from orders import tasks as order_tasks
from shequn import kicks


def test_the_task_of_a_name_is_the_registered_task():
    assert kicks.task("orders.tasks.start_refund") == order_tasks.start_refund  # shared_task gives a proxy


def test_a_process_that_never_imported_the_tasks_finds_them_on_its_first_kick():
    """A web process imports no tasks module; the first lookup has Celery discover them all."""
    script = textwrap.dedent(
        """
        import sys
        import django
        django.setup()
        from shequn import kicks
        assert "notifications.tasks" not in sys.modules
        task = kicks.task("notifications.tasks.deliver_notifications")
        from notifications.tasks import deliver_notifications
        assert task == deliver_notifications
        print("found")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "found", result.stderr


def test_a_name_no_task_has_is_refused():
    with pytest.raises(NotRegistered):
        kicks.task("orders.tasks.no_such_task")
