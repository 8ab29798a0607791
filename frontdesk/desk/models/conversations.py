"""Conversations, their messages and attachments, and tags."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .channels import Channel
from .customers import Customer
from .tenants import Membership, Team, Tenant


class Tag(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(_("name"), max_length=50)
    color = models.CharField(_("colour"), max_length=7, default="#6b7280")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="tag_name_unique")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Waiting on customer")
    ON_HOLD = "on_hold", _("On hold")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# Statuses in which the shop owes the customer something.
ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.ON_HOLD)
# Statuses from which a customer's new message brings the conversation back to the queue.
DONE_STATUSES = (Status.RESOLVED, Status.CLOSED)


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Conversation(models.Model):
    """A thread between the shop and one customer, in one or more channels.

    `number` is the reference the customer sees; it is unique per tenant and never reused.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="conversations")
    number = models.PositiveIntegerField()
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="conversations")
    # The channel the conversation started in.
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="conversations")
    # Where replies go: the customer's choice; null = the channel they last wrote from.
    reply_channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_conversations"
    )
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    tags = models.ManyToManyField(Tag, related_name="conversations", blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    # A thread id given by the channel (the shop's own ticket id through the API channel…).
    external_thread_id = models.CharField(max_length=200, blank=True, default="")

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # Since when the customer has been waiting for the shop; null when the shop spoke last.
    waiting_since = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)

    # Service level (filled by the SLA policies): when answers are due.
    first_response_due = models.DateTimeField(null=True, blank=True)
    next_response_due = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    # The promise told to the customer and whether the first human answer came before it.
    promised_by = models.DateTimeField(null=True, blank=True)
    promise_sent_at = models.DateTimeField(null=True, blank=True)
    promise_kept = models.BooleanField(null=True, blank=True)
    # The first promise when it had to be revised (the customer was told the new one).
    promise_original = models.DateTimeField(null=True, blank=True)
    promise_revised_at = models.DateTimeField(null=True, blank=True)
    # The SLA policy that set the due times, its legal deadline, and its clock state: when the
    # clocks paused (waiting on the customer) and which warnings/breaches were recorded already
    # ("first_response:warned", "resolution:breached"…; cleared when a due time is set anew).
    sla_policy = models.ForeignKey(
        "desk.SlaPolicy", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    legal_due = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_marks = models.JSONField(default=list, blank=True)

    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A new conversation opened because the customer wrote to a closed one points back to it.
    previous = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="conversation_number_unique"),
        ]
        indexes = [
            # The inbox lists: by status, newest activity first, per assignee/team.
            models.Index(fields=["tenant", "status", "-last_message_at"], name="conv_status_recent"),
            models.Index(fields=["tenant", "assignee", "status", "-last_message_at"], name="conv_assignee"),
            models.Index(fields=["tenant", "team", "status", "-last_message_at"], name="conv_team"),
            models.Index(fields=["tenant", "customer", "-last_message_at"], name="conv_customer"),
            models.Index(fields=["tenant", "-last_message_at"], name="conv_recent"),
            # A new conversation's promise (actions/promise.py): the team's recent first answers
            # (pace_per_hour) and its unanswered queue (queue_ahead) — without these, both read
            # the team's whole history: 200–400 ms a new conversation at 250k–500k conversations.
            models.Index(
                fields=["tenant", "team", "first_response_at", "assignee"],
                name="conv_answered",
                condition=Q(first_response_at__isnull=False),
            ),
            models.Index(
                fields=["tenant", "team", "created_at"],
                name="conv_unanswered",
                condition=Q(first_response_at__isnull=True, merged_into__isnull=True),
            ),
            models.Index(
                fields=["snoozed_until"], name="conv_snoozed", condition=Q(snoozed_until__isnull=False)
            ),
            # The scheduler's SLA sweep: due times still running.
            models.Index(
                fields=["first_response_due"],
                name="conv_first_due",
                condition=Q(first_response_due__isnull=False, first_response_at__isnull=True),
            ),
            models.Index(
                fields=["next_response_due"],
                name="conv_next_due",
                condition=Q(next_response_due__isnull=False),
            ),
            models.Index(
                fields=["resolution_due"],
                name="conv_resolution_due",
                condition=Q(resolution_due__isnull=False),
            ),
            # Promises still to keep (promise_watch.promise_sweep, every minute).
            models.Index(
                fields=["promised_by"],
                name="conv_promise_open",
                condition=Q(
                    promised_by__isnull=False, first_response_at__isnull=True, promise_revised_at__isnull=True
                ),
            ),
            # Live chats waiting for an agent (routing.offer_waiting_chats, every few seconds).
            models.Index(
                fields=["waiting_since"],
                name="conv_unassigned_waiting",
                condition=Q(assignee__isnull=True, waiting_since__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_snoozed(self) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > timezone.now()

    @property
    def effective_reply_channel(self) -> Channel:
        return self.reply_channel or self.channel


class Direction(models.TextChoices):
    IN = "in", _("From the customer")
    OUT = "out", _("To the customer")
    NOTE = "note", _("Internal note")


class AuthorKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    SYSTEM = "system", _("System")
    BOT = "bot", _("Bot")


class DeliveryState(models.TextChoices):
    """What happened to an outbound message, as the agent sees it on the message."""

    NONE = "", _("Not sent")
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Message(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=4, choices=Direction.choices)
    # The channel it came in or went out through; null for internal notes.
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    author_kind = models.CharField(max_length=10, choices=AuthorKind.choices)
    author = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    subject = models.CharField(max_length=300, blank=True, default="")
    # What the customer wrote now; the earlier messages they quoted are in `quoted_text`.
    text = models.TextField(blank=True, default="")
    quoted_text = models.TextField(blank=True, default="")
    # Sanitised HTML (nh3) when the channel gave HTML; rendered as-is, so only ever set by the sanitiser.
    html = models.TextField(blank=True, default="")
    language = models.CharField(max_length=10, blank=True, default="")
    # The provider's id for the message (Message-ID, provider sid, idempotency key): the dedupe key.
    provider_id = models.CharField(max_length=300, blank=True, default="")
    raw = models.ForeignKey(
        "desk.RawInbound", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    delivery_state = models.CharField(
        max_length=10, choices=DeliveryState.choices, blank=True, default=DeliveryState.NONE
    )
    delivery_error = models.TextField(blank=True, default="")
    # An automatic message (out-of-office, bounce, mailing list): stored, never answered automatically.
    is_auto_reply = models.BooleanField(default=False)
    mentions = models.ManyToManyField(Membership, related_name="mentioned_in", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the customer (or their channel) says it was written, if known.
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the other side read it, where the channel tells (live chat): the visitor read an agent's
    # message, or an agent opened the conversation after the visitor wrote.
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "provider_id"],
                name="message_provider_id_unique",
                condition=~Q(provider_id=""),
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="msg_conversation_time"),
            # Threading a reply by In-Reply-To, and a bounce by the ids it reports (actions/inbound.py).
            models.Index(
                fields=["tenant", "provider_id"], name="msg_tenant_provider", condition=~Q(provider_id="")
            ),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.direction} {self.text[:40]}"

    @property
    def is_note(self) -> bool:
        return self.direction == Direction.NOTE

    @property
    def is_bounce(self) -> bool:
        """A mail server's delivery report about one of our replies, filed into its conversation
        by the core (actions.inbound._receive_bounce): inbound, written by the system."""
        return self.direction == Direction.IN and self.author_kind == AuthorKind.SYSTEM


def attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name is never the customer's file name: that is kept apart and served in headers.
    return f"attachments/{instance.tenant_id}/{timezone.now():%Y/%m}/{instance.token}"


class Attachment(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    token = models.CharField(max_length=40, unique=True)
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=150, default="application/octet-stream")
    size = models.PositiveBigIntegerField(default=0)
    # For inline images in HTML mail (cid:); empty for ordinary attachments.
    content_id = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.filename
