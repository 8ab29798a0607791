"""Channels: one table for every kind; the adapter of the kind validates the config."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .tenants import Tenant


def _fernet() -> Fernet:
    key = hashlib.sha256(b"frontdesk-channel-secrets:" + settings.FRONTDESK_ENCRYPTION_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


class Channel(models.Model):
    """A way customers reach the shop (an API integration, a contact form, a mailbox, a number…)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(_("kind"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    # Unguessable id used in public URLs (webhooks, the embeddable form), never the database id.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The address customers write to, where the channel has one (support@shop.example, a phone
    # number): routes mail received by the built-in SMTP server and keeps the shop's own mail out.
    inbound_address = models.CharField(_("address"), max_length=320, blank=True, default="", db_index=True)
    # Validated by the adapter's Config model; never holds secrets.
    config = models.JSONField(default=dict, blank=True)
    # Secrets (signing keys, passwords, provider tokens), encrypted at rest as one JSON document.
    secrets_encrypted = models.TextField(blank=True, default="")
    disabled = models.BooleanField(_("disabled"), default=False)
    # Opening hours of this channel (a phone line, say); null: the team's or the shop's.
    calendar = models.ForeignKey(
        "desk.BusinessCalendar", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "kind"])]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def secrets(self) -> dict[str, Any]:
        if not self.secrets_encrypted:
            return {}
        try:
            return json.loads(_fernet().decrypt(self.secrets_encrypted.encode()))
        except InvalidToken:
            # The encryption key changed: the channel must be given its secrets again.
            return {}

    @secrets.setter
    def secrets(self, value: dict[str, Any]) -> None:
        self.secrets_encrypted = _fernet().encrypt(json.dumps(value).encode()).decode() if value else ""

    @property
    def adapter(self):  # type: ignore[no-untyped-def]
        from frontdesk.channels.registry import get_adapter

        return get_adapter(self.kind)


class MailboxState(models.Model):
    """Where fetching a channel's mailbox folder stands (IMAP): what was seen, and how it went.

    `uidvalidity` + `last_uid` say which messages were imported already; when the server changes
    UIDVALIDITY, everything is looked at again and deduplicated by Message-ID.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="mailbox_states")
    folder = models.CharField(max_length=200, default="INBOX")
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    backfill_done = models.BooleanField(default=False)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Running totals shown in the ingestion log: {"fetched": n, "imported": n, "duplicates": n, "failed": n}.
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "folder"], name="mailbox_state_unique")]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.folder}"
