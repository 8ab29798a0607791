"""The append-only timeline of everything that happens in a tenant."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .conversations import Conversation
from .tenants import Membership, Tenant


class Event(models.Model):
    """One change, in the order it committed. Read by the conversation timeline, the audit log,
    real-time clients (which resume from the last id they saw) and, later, reports and webhooks.

    Rows are never updated or deleted. `kind` is a dotted name such as "conversation.assigned";
    `data` holds what changed (ids and before/after values), never secrets.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=60)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    actor = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "id"], name="event_tenant_stream"),
            models.Index(fields=["conversation", "id"], name="event_conversation"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"
