"""Background task functions. Each is small and idempotent: a task may run again after a crash."""

from __future__ import annotations

from django_tasks import task

from .context import current_worker_id


@task(queue_name="deliveries")
def send_delivery(delivery_id: int) -> str:
    from ..actions.outbox import process_delivery

    return process_delivery(delivery_id, current_worker_id())


@task()
def process_raw_inbound(raw_id: int) -> str:
    """Process a stored payload that was not processed when it arrived (a crash, a transient error)."""
    from ..actions.inbound import process_raw
    from ..models import RawInbound, RawState

    raw = RawInbound.objects.select_related("channel__tenant").filter(pk=raw_id).first()
    if raw is None or raw.state not in (RawState.RECEIVED, RawState.FAILED):
        return "skipped"
    try:
        process_raw(raw)
    except Exception as exc:  # the state and error are on the row; the sweeper tries again later
        return f"error: {type(exc).__name__}"
    return raw.state
