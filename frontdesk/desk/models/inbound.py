"""What came in (raw, before parsing) and what goes out (the outbox)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .channels import Channel
from .conversations import Message
from .tenants import Tenant


class RawState(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    DUPLICATE = "duplicate", _("Duplicate")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")


class RawInbound(models.Model):
    """A payload exactly as a channel received it, stored before anything is parsed.

    Nothing received is lost: the sender is acknowledged only after this row commits, and
    processing can be re-run from it. `state` says what processing made of it.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="raw_inbound")
    received_at = models.DateTimeField(default=timezone.now)
    body = models.BinaryField()
    content_type = models.CharField(max_length=200, blank=True, default="")
    # Request headers the adapter needs to verify a signature again (lower-case names).
    headers = models.JSONField(default=dict, blank=True)
    remote_addr = models.CharField(max_length=64, blank=True, default="")
    # The message's identity where the transport knows it before parsing (an email's Message-ID):
    # fetchers skip what was stored already without downloading it again.
    dedupe_key = models.CharField(max_length=300, blank=True, default="")
    state = models.CharField(max_length=10, choices=RawState.choices, default=RawState.RECEIVED)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["channel", "dedupe_key"], name="raw_dedupe"),
            models.Index(fields=["channel", "-received_at"]),
            models.Index(fields=["state", "received_at"]),
        ]

    def __str__(self) -> str:
        return f"raw {self.pk} ({self.state})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Delivery(models.Model):
    """One outbound message to send through one channel: the outbox row.

    Committed together with the message; a worker sends it, retrying transient failures with
    exponential backoff. `claimed_by`/`claimed_until` make sure only one worker sends it at a time.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="deliveries")
    # The address the adapter sends to (email, E.164 phone, the shop's customer id…).
    recipient = models.CharField(max_length=320, blank=True, default="")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=300, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    worker = models.CharField(max_length=64, blank=True, default="")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    permanent = models.BooleanField(default=False)
    # What the provider answered (status code and the start of the body, or the error text).
    detail = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"attempt {self.pk} of delivery {self.delivery_id}"
