"""Scaled out: several `frontdesk worker` processes share the outbox without sending anything twice,
and the work of a worker killed mid-send is finished by another."""

from __future__ import annotations

from collections import Counter

import pytest
from django_tasks_db.models import DBTaskResult

from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.models import Delivery, DeliveryAttempt, DeliveryStatus, WorkerHeartbeat
from tests.factories import ChannelFactory, receive

from .conftest import requires_postgres_and_redis, wait_for

pytestmark = [pytest.mark.scaled, requires_postgres_and_redis]


def _beating(*processes) -> bool:  # type: ignore[no-untyped-def]
    pids = {p.pid for p in processes}
    return set(WorkerHeartbeat.objects.filter(pid__in=pids).values_list("pid", flat=True)) == pids


def _process_of(worker_id: str, processes) -> str:  # type: ignore[no-untyped-def]
    """Worker ids read <host>-<pid>-<thread>-<random>: which of our processes wrote this one."""
    [name] = [p.name for p in processes if f"-{p.pid}-" in worker_id]
    return name


def test_two_workers_send_every_delivery_exactly_once(cluster, agent, shop):
    channel = ChannelFactory(tenant=agent.tenant, kind="api", config={"webhook_url": shop.url})
    workers = [cluster.worker(), cluster.worker()]
    wait_for(lambda: _beating(*workers), timeout=60, what="both workers to start", details=cluster.logs)

    conversations = [
        receive(channel, f"Question {n}", email=f"customer{n}@example.org", external_id=f"cust-{n}")
        for n in range(8)
    ]
    messages = [do_reply(agent, conversations[n % 8], f"Answer {n}") for n in range(40)]
    expected = sorted(
        str(d) for d in Delivery.objects.filter(message__in=messages).values_list("pk", flat=True)
    )
    assert len(expected) == 40

    wait_for(
        lambda: Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 40,
        timeout=90,
        what="all 40 deliveries to be sent",
        details=cluster.logs,
    )

    assert sorted(shop.deliveries) == expected  # each POSTed exactly once
    attempts = Counter(DeliveryAttempt.objects.values_list("delivery_id", flat=True))
    assert set(attempts.values()) == {1}
    assert len(attempts) == 40
    assert all(DeliveryAttempt.objects.values_list("ok", flat=True))
    did_work = Counter(
        _process_of(w, workers) for w in DeliveryAttempt.objects.values_list("worker", flat=True)
    )
    assert set(did_work) == {w.name for w in workers}, did_work


def test_a_delivery_left_running_by_a_killed_worker_is_sent_by_another(cluster, agent, stalling_shop):
    channel = ChannelFactory(tenant=agent.tenant, kind="api", config={"webhook_url": stalling_shop.url})
    conversation = receive(channel, "Where is my order?", external_id="cust-7")
    # Short staleness so the test does not wait a minute; the first worker never runs the scheduler.
    stale = {"FRONTDESK_WORKER_STALE_SECONDS": "2"}
    doomed = cluster.worker("--no-scheduler", **stale)
    wait_for(lambda: _beating(doomed), timeout=60, what="the first worker to start", details=cluster.logs)

    message = do_reply(agent, conversation, "It ships today.")
    delivery = message.deliveries.get()
    assert stalling_shop.first_arrived.wait(timeout=60), cluster.logs()
    doomed.kill()  # mid-send: the task stays RUNNING, the delivery stays claimed

    [task] = DBTaskResult.objects.filter(status="RUNNING", task_path__endswith="send_delivery")
    rescuer = cluster.worker(**stale)
    wait_for(
        lambda: DBTaskResult.objects.filter(pk=task.pk, status="SUCCESSFUL").exists(),
        timeout=90,
        what="the other worker to run the task again",
        details=cluster.logs,
    )

    # The shop saw the same delivery id twice (the first answer never reached us) and can drop the
    # repeat; the outbox shows the interrupted attempt and the successful one.
    assert stalling_shop.deliveries == [str(delivery.pk), str(delivery.pk)]
    first, second = DeliveryAttempt.objects.filter(delivery=delivery).order_by("id")
    assert (first.ok, second.ok) == (False, True)
    assert "stopped" in first.detail
    assert (_process_of(first.worker, [doomed]), _process_of(second.worker, [rescuer])) == (
        doomed.name,
        rescuer.name,
    )
    task.refresh_from_db()
    assert task.return_value == "sent"
    assert [_process_of(w, [doomed, rescuer]) for w in task.worker_ids] == [doomed.name, rescuer.name]
    message.refresh_from_db()
    assert message.delivery_state == "sent"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
