"""Live chat: the visitors of a shop's site and the offers of chats to agents."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone

from .channels import Channel
from .conversations import Conversation
from .customers import Customer
from .tenants import Membership, Tenant


def hash_visitor_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ChatVisitor(models.Model):
    """One browser on the shop's site, known by a secret token kept in its local storage.

    A visitor becomes a customer when they first write (identity kind "visitor" = `public_id`).
    Identity verification (the shop's HMAC) ties the visitor to the shop's customer; contact details
    the visitor merely typed are kept here as claims and never merged into an existing customer.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="chat_visitors")
    # Not secret: names the visitor in the customer's identities and in agents' pages.
    public_id = models.CharField(max_length=32, unique=True)
    # sha256 of the bearer token the widget holds; the token itself is never stored.
    token_hash = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="chat_visitors"
    )
    # Set when the shop vouched for the visitor with its identity-verification signature.
    verified = models.BooleanField(default=False)
    # What the visitor typed (pre-chat form, offline hand-over): unverified claims.
    name = models.CharField(max_length=200, blank=True, default="")
    email = models.CharField(max_length=320, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    language = models.CharField(max_length=10, blank=True, default="")
    user_agent = models.CharField(max_length=300, blank=True, default="")

    first_seen_at = models.DateTimeField(default=timezone.now)
    # Refreshed by the widget's heartbeat: a visitor seen in the last minute is on the site.
    last_seen_at = models.DateTimeField(default=timezone.now)
    visit_started_at = models.DateTimeField(default=timezone.now)
    visits = models.PositiveIntegerField(default=1)
    page_url = models.CharField(max_length=1000, blank=True, default="")
    page_title = models.CharField(max_length=300, blank=True, default="")
    referrer = models.CharField(max_length=1000, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["channel", "-last_seen_at"], name="visitor_seen")]

    def __str__(self) -> str:
        return self.public_id

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    @staticmethod
    def new_public_id() -> str:
        return "v" + secrets.token_hex(12)


class ChatOffer(models.Model):
    """A chat offered to an agent (assigned to them by the router); answered or passed on."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="chat_offers")
    member = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="chat_offers")
    offered_at = models.DateTimeField(default=timezone.now)
    # When the agent answered the visitor, or when the chat was passed on to someone else.
    answered_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["offered_at"],
                name="chat_offer_open",
                condition=models.Q(answered_at__isnull=True, expired_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"offer of {self.conversation_id} to {self.member_id}"
