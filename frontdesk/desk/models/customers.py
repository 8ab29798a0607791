"""Customers and their identities across channels."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .tenants import Tenant


class Customer(models.Model):
    """One person who writes to the shop, from whatever channel. Identities tie channels to them."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="customers")
    name = models.CharField(_("name"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    # The channel the customer wants answers in (their choice, not the shop's); null = where they wrote.
    preferred_reply_channel = models.ForeignKey(
        "desk.Channel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    preferred_contact_hours = models.CharField(_("preferred contact hours"), max_length=100, blank=True)
    # {"email_marketing": {"given": true, "at": "...", "source": "..."}, ...}
    consent = models.JSONField(_("consent"), default=dict, blank=True)
    # Free-form facts from the shop or its systems ({"segment": "vip", "orders": 12}).
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    blocked = models.BooleanField(_("blocked"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Set when this customer was merged into another; the row stays so old links resolve.
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["tenant", "name"]), models.Index(fields=["tenant", "-created_at"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        first = next(iter(self.identities.all()), None) if self.pk else None
        return first.address if first else str(_("Customer #%(id)s") % {"id": self.pk})

    def identity(self, kind: str) -> CustomerIdentity | None:
        return next((i for i in self.identities.all() if i.kind == kind), None)


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    # The shop's own id for the customer, sent by its systems through the API channel.
    EXTERNAL = "external", _("Shop customer id")
    VISITOR = "visitor", _("Chat visitor")
    TELEGRAM = "telegram", _("Telegram")
    MESSENGER = "messenger", _("Messenger")
    WHATSAPP = "whatsapp", _("WhatsApp")


class CustomerIdentity(models.Model):
    """An address at which a customer can be reached or recognised; unique per tenant.

    Addresses are stored normalised (lower-case email, E.164 phone) so the same person writing
    from two channels lands on one customer.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("kind"), max_length=20, choices=IdentityKind.choices)
    address = models.CharField(_("address"), max_length=320)
    verified = models.BooleanField(_("verified"), default=False)
    # The address of its kind the customer asked to be answered at (their status page choice):
    # replies of that kind go there rather than to the oldest one (ordering puts it first).
    preferred = models.BooleanField(_("preferred"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "address"], name="identity_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "address"])]
        ordering = ["kind", "-preferred", "id"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.address}"
