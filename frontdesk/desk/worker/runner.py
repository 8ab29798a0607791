"""The worker loop, worker heartbeats, recovery of abandoned tasks, and the elected scheduler.

`frontdesk serve` runs these as threads beside the web server; `frontdesk worker` runs them in a
process of its own (scaled-out mode). Many workers may run against one database: a task is claimed
by one of them (SKIP LOCKED on PostgreSQL, the write lock on SQLite), and the scheduler acts only
in the process holding the "scheduler" lease.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import IntegrityError, OperationalError, close_old_connections, transaction
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker as DbWorker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from ..models import Delivery, DeliveryAttempt, DeliveryStatus, Lease, RawInbound, RawState, WorkerHeartbeat
from .context import set_current_worker_id

log = structlog.get_logger(__name__)

HEARTBEAT_SECONDS = 5.0


def heartbeat_seconds() -> float:
    """How often a worker says it is alive: well within the time after which it counts as dead."""
    return max(0.2, min(HEARTBEAT_SECONDS, settings.FRONTDESK_WORKER_STALE_SECONDS / 4))


def new_worker_id(role: str = "worker") -> str:
    return f"{socket.gethostname()[:30]}-{os.getpid()}-{role}-{secrets.token_hex(3)}"


def heartbeat(worker_id: str) -> None:
    now = timezone.now()
    updated = WorkerHeartbeat.objects.filter(worker_id=worker_id).update(seen_at=now)
    if not updated:
        WorkerHeartbeat.objects.get_or_create(
            worker_id=worker_id,
            defaults={
                "hostname": socket.gethostname()[:200],
                "pid": os.getpid(),
                "started_at": now,
                "seen_at": now,
            },
        )


def claim_next_task(worker_id: str, queues: list[str] | None = None) -> DBTaskResult | None:
    tasks = DBTaskResult.objects.ready().filter(backend_name="default")
    if queues:
        tasks = tasks.filter(queue_name__in=queues)
    try:
        with exclusive_transaction(tasks.db):
            task_result = tasks.get_locked()
            if task_result is not None:
                task_result.claim(worker_id)
            return task_result
    except OperationalError as exc:
        if is_locked_database_exception(exc):
            return None
        raise


def run_claimed(worker_id: str, task_result: DBTaskResult) -> None:
    set_current_worker_id(worker_id)
    runner = DbWorker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    runner.run_task(task_result)


def run_ready_tasks(worker_id: str | None = None, *, limit: int = 1000) -> int:
    """Run due tasks until none is left (or `limit`). Used by tests and `frontdesk worker --batch`."""
    worker_id = worker_id or new_worker_id("batch")
    heartbeat(worker_id)
    count = 0
    while count < limit:
        task_result = claim_next_task(worker_id)
        if task_result is None:
            break
        run_claimed(worker_id, task_result)
        count += 1
    return count


def recover_abandoned_tasks(now: dt.datetime | None = None) -> int:
    """Put back to READY every RUNNING task whose worker stopped sending heartbeats."""
    now = now or timezone.now()
    stale_before = now - dt.timedelta(seconds=settings.FRONTDESK_WORKER_STALE_SECONDS)
    alive = set(WorkerHeartbeat.objects.filter(seen_at__gte=stale_before).values_list("worker_id", flat=True))
    recovered = 0
    dead: set[str] = set()
    for task_result in DBTaskResult.objects.running().only("id", "worker_ids", "started_at")[:1000]:
        owner = task_result.worker_ids[-1] if task_result.worker_ids else None
        if owner in alive:
            continue
        if task_result.started_at and task_result.started_at >= stale_before:
            continue  # just claimed; its worker may not have beaten yet
        # Compare-and-set on the status and start time: a worker that claimed it meanwhile wins.
        if DBTaskResult.objects.filter(
            pk=task_result.pk, status="RUNNING", started_at=task_result.started_at
        ).update(status="READY", started_at=None):
            recovered += 1
            if owner:
                dead.add(owner)
    if dead:
        release_claims_of(dead, now)
    WorkerHeartbeat.objects.filter(seen_at__lt=now - dt.timedelta(hours=1)).delete()
    if recovered:
        log.warning("worker.recovered_tasks", count=recovered, workers=sorted(dead))
    return recovered


def release_claims_of(dead_workers: set[str], now: dt.datetime) -> int:
    """Give back the deliveries a dead worker was sending, so its recovered task can send them now
    instead of waiting for the claim to time out. The unfinished attempt is closed as interrupted
    (the provider may have got it: the receiver drops the repeat by the delivery id)."""
    with transaction.atomic():
        claimed = list(
            Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_by__in=dead_workers).values_list(
                "pk", flat=True
            )
        )
        if not claimed:
            return 0
        DeliveryAttempt.objects.filter(delivery_id__in=claimed, finished_at__isnull=True).update(
            finished_at=now, detail="The worker stopped during this attempt; it is sent again."
        )
        released = Delivery.objects.filter(
            pk__in=claimed, status=DeliveryStatus.SENDING, claimed_by__in=dead_workers
        ).update(status=DeliveryStatus.PENDING, claimed_until=None, next_attempt_at=now)
    log.warning("worker.released_deliveries", count=released, workers=sorted(dead_workers))
    return released


def sweep_raw_inbound(now: dt.datetime | None = None) -> int:
    """Queue processing for payloads stored but never processed (the process died in between)."""
    from .tasks import process_raw_inbound

    now = now or timezone.now()
    pending = RawInbound.objects.filter(
        state__in=[RawState.RECEIVED, RawState.FAILED],
        received_at__lt=now - dt.timedelta(seconds=30),
        attempts__lt=10,
    ).values_list("pk", flat=True)[:200]
    count = 0
    for pk in pending:
        with transaction.atomic():
            process_raw_inbound.enqueue(pk)
        count += 1
    return count


def acquire_lease(name: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease `name` for `holder`. True while this holder has it."""
    now = timezone.now()
    until = now + dt.timedelta(seconds=seconds)
    with transaction.atomic():
        updated = Lease.objects.filter(name=name, holder=holder).update(expires_at=until)
        if not updated:
            updated = Lease.objects.filter(name=name, expires_at__lt=now).update(
                holder=holder, expires_at=until
            )
    if updated:
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=holder, expires_at=until)
        return True
    except IntegrityError:
        return False


@dataclass
class Job:
    name: str
    every: float
    func: Callable[[], object]
    last_run: float = 0.0


def scheduled_jobs() -> list[Job]:
    from ..actions.assignment import auto_assign_sweep, reassign_sweep
    from ..actions.callbacks import callbacks_due
    from ..actions.conversations import wake_snoozed
    from ..actions.outbox import sweep_deliveries
    from ..actions.promise_watch import promise_sweep
    from ..actions.routing import offer_waiting_chats, reoffer_chats
    from ..actions.sla import sla_sweep

    # Look for abandoned tasks a few times per staleness period (so a dead worker's task runs again
    # soon after it counts as dead), at most every 15 s.
    recovery_every = max(1.0, min(15.0, settings.FRONTDESK_WORKER_STALE_SECONDS / 3))
    return [
        Job("recover_abandoned_tasks", recovery_every, recover_abandoned_tasks),
        Job("sweep_deliveries", 15, sweep_deliveries),
        Job("sweep_raw_inbound", 30, sweep_raw_inbound),
        Job("wake_snoozed", 10, wake_snoozed),
        Job("reoffer_chats", 5, reoffer_chats),
        Job("offer_waiting_chats", 5, offer_waiting_chats),
        Job("sla_sweep", 30, sla_sweep),
        Job("promise_sweep", 60, promise_sweep),
        Job("callbacks_due", 30, callbacks_due),
        Job("auto_assign_sweep", 15, auto_assign_sweep),
        Job("reassign_sweep", 60, reassign_sweep),
    ]


class Scheduler:
    """Runs periodic jobs in the one process holding the "scheduler" lease."""

    LEASE_SECONDS = 30.0
    RENEW_SECONDS = 5.0

    def __init__(self, holder: str) -> None:
        self.holder = holder
        self.jobs = scheduled_jobs()
        self.holding = False
        self.renewed_at: float | None = None

    def tick(self, monotonic_now: float) -> None:
        """Called often (every loop of the worker); touches the lease only every few seconds."""
        if self.renewed_at is None or monotonic_now - self.renewed_at >= self.RENEW_SECONDS:
            self.renewed_at = monotonic_now
            self.holding = acquire_lease("scheduler", self.holder, self.LEASE_SECONDS)
        if not self.holding:
            return
        for job in self.jobs:
            if monotonic_now - job.last_run < job.every:
                continue
            job.last_run = monotonic_now
            try:
                job.func()
            except Exception:
                log.exception("scheduler.job_failed", job=job.name)


class Heartbeat(threading.Thread):
    """Beats for one worker on its own thread, so a long task does not make the worker look dead."""

    def __init__(self, worker_id: str, stop: threading.Event) -> None:
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.stop_event = stop

    def run(self) -> None:
        while True:
            try:
                heartbeat(self.worker_id)
            except Exception:
                log.exception("worker.heartbeat_failed", worker=self.worker_id)
            finally:
                close_old_connections()
            if self.stop_event.wait(heartbeat_seconds()):
                return


class WorkerThread(threading.Thread):
    """Claims and runs tasks until stopped; beats every few seconds; optionally runs the scheduler."""

    def __init__(
        self, *, stop: threading.Event, interval: float = 0.5, scheduler: bool = True, name: str = "worker"
    ):
        super().__init__(name=name, daemon=True)
        self.stop_event = stop
        self.interval = interval
        self.worker_id = new_worker_id(name)
        self.scheduler = Scheduler(self.worker_id) if scheduler else None

    def run(self) -> None:
        import time

        set_current_worker_id(self.worker_id)
        heartbeat(self.worker_id)  # alive before the first claim
        beating = threading.Event()
        beat = Heartbeat(self.worker_id, beating)
        beat.start()
        log.info("worker.started", worker=self.worker_id)
        while not self.stop_event.is_set():
            try:
                close_old_connections()
                if self.scheduler:
                    self.scheduler.tick(time.monotonic())
                task_result = claim_next_task(self.worker_id)
                if task_result is not None:
                    run_claimed(self.worker_id, task_result)
                    continue
            except Exception:
                log.exception("worker.loop_error", worker=self.worker_id)
            self.stop_event.wait(self.interval)
        beating.set()
        beat.join(timeout=10)
        WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
        close_old_connections()
        log.info("worker.stopped", worker=self.worker_id)
