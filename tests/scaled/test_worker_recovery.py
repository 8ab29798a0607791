"""Work of a dead worker is picked up again; a busy worker is not mistaken for a dead one.

In-process (SQLite and PostgreSQL); the same with real processes and SIGKILL is in test_two_workers.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.actions.outbox import claim
from frontdesk.desk.models import DeliveryAttempt, DeliveryState, DeliveryStatus, WorkerHeartbeat
from frontdesk.desk.worker.runner import (
    Heartbeat,
    Scheduler,
    claim_next_task,
    recover_abandoned_tasks,
    run_ready_tasks,
)
from tests.factories import receive

from .conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reply(agent, api_channel, shop, settings):  # type: ignore[no-untyped-def]
    settings.FRONTDESK_WEBHOOK_ALLOW_LOOPBACK = True
    api_channel.config = {"webhook_url": shop.url}
    api_channel.save()
    conversation = receive(api_channel, "Where is my order?", external_id="cust-7")
    return do_reply(agent, conversation, "It ships today.")


def _crash_mid_send(worker_id: str, started: dt.datetime) -> DBTaskResult:
    """What a worker leaves behind when it dies while sending: a RUNNING task, a claimed delivery
    and an unfinished attempt."""
    task = claim_next_task(worker_id)
    assert task is not None
    delivery_id = task.args_kwargs["args"][0]
    assert claim(delivery_id, worker_id) is not None
    DeliveryAttempt.objects.create(delivery_id=delivery_id, worker=worker_id)
    DBTaskResult.objects.filter(pk=task.pk).update(started_at=started)
    return task


def test_the_send_of_a_worker_that_died_is_finished_by_another(reply, shop, settings):
    settings.FRONTDESK_WORKER_STALE_SECONDS = 60
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    WorkerHeartbeat.objects.create(worker_id="dead-worker", seen_at=long_ago)
    task = _crash_mid_send("dead-worker", long_ago)

    assert recover_abandoned_tasks() == 1
    run_ready_tasks("rescuer")

    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    reply.refresh_from_db()
    assert reply.delivery_state == DeliveryState.SENT
    delivery = reply.deliveries.get()
    assert delivery.status == DeliveryStatus.SENT
    interrupted, sent = delivery.attempt_log.order_by("id")
    assert (interrupted.worker, interrupted.ok, interrupted.finished_at is not None) == (
        "dead-worker",
        False,
        True,
    )
    assert (sent.worker, sent.ok) == ("rescuer", True)
    assert shop.deliveries == [str(delivery.pk)]


def test_a_worker_busy_with_a_long_task_is_not_taken_for_dead(reply, settings):
    settings.FRONTDESK_WORKER_STALE_SECONDS = 1
    a_while_ago = timezone.now() - dt.timedelta(seconds=30)
    WorkerHeartbeat.objects.create(worker_id="busy-worker", seen_at=a_while_ago)
    task = _crash_mid_send("busy-worker", a_while_ago)  # ...but it is alive, merely busy
    stop = threading.Event()
    beat = Heartbeat("busy-worker", stop)
    beat.start()
    try:
        wait_for(
            lambda: WorkerHeartbeat.objects.filter(worker_id="busy-worker", seen_at__gt=a_while_ago).exists(),
            timeout=10,
            what="the heartbeat thread to beat",
        )
        assert recover_abandoned_tasks() == 0
    finally:
        stop.set()
        beat.join(timeout=10)

    task.refresh_from_db()
    assert task.status == "RUNNING"
    assert reply.deliveries.get().status == DeliveryStatus.SENDING


def test_a_task_just_claimed_by_a_worker_not_yet_beating_is_left_alone(reply, settings):
    settings.FRONTDESK_WORKER_STALE_SECONDS = 60
    task = claim_next_task("new-worker")
    assert task is not None

    assert recover_abandoned_tasks() == 0
    task.refresh_from_db()
    assert task.status == "RUNNING"


def test_only_one_scheduler_runs_the_periodic_jobs(db):
    ran: list[str] = []
    first, second = Scheduler("first"), Scheduler("second")
    for scheduler in (first, second):
        scheduler.jobs = [job for job in scheduler.jobs if job.name == "recover_abandoned_tasks"]
        scheduler.jobs[0].func = lambda name=scheduler.holder: ran.append(name)

    first.tick(100.0)
    second.tick(100.0)
    first.tick(100.5)  # not due again yet

    assert ran == ["first"]
