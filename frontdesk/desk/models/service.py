"""The service promise: business calendars, response-time targets (SLA policies) and callbacks.

The arithmetic lives in `desk/lib/businesstime.py` (pure); these rows are what shops edit. See
docs/service.md for the model.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .tenants import Membership, Tenant

# Monday–Friday 09:00–17:00, in minutes after local midnight: what a new calendar starts with.
DEFAULT_WEEK: list[list[list[int]]] = [[[540, 1020]]] * 5 + [[], []]


def default_week() -> list[list[list[int]]]:
    return [list(day) for day in DEFAULT_WEEK]


class BusinessCalendar(models.Model):
    """Opening hours of a shop, a team or a channel: weekly hours (several intervals a day for split
    shifts), public holidays of a country, and the shop's own closures and special days."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="calendars")
    name = models.CharField(_("name"), max_length=100)
    # Blank: the shop's time zone and country.
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    subdivision = models.CharField(_("region"), max_length=10, blank=True)
    public_holidays = models.BooleanField(_("closed on public holidays"), default=True)
    # Seven lists (Monday first) of [start, end] minutes after local midnight; [] is a closed day.
    week = models.JSONField(_("opening hours"), default=default_week)
    # The shop's calendar: conversations whose team and channel have none use it.
    is_default = models.BooleanField(_("the shop's calendar"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("business calendar")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="calendar_name_unique"),
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(is_default=True), name="calendar_one_default"
            ),
        ]
        ordering = ["-is_default", "name"]

    def __str__(self) -> str:
        return self.name


class CalendarDay(models.Model):
    """One date with its own hours: a closure (no hours: stock-taking, a local holiday) or a special
    opening (a Sunday before Christmas, shorter hours on 24 December). Wins over weekly hours and
    public holidays."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField(_("date"))
    # [[start, end], ...] minutes after local midnight; [] = closed all day.
    hours = models.JSONField(_("hours"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="calendar_day_unique")]
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.note}".strip()


class SlaPolicy(models.Model):
    """Response-time targets for the conversations that match its conditions (first match in
    `position` order wins). Targets in minutes, counted in business time of the conversation's
    calendar or in calendar time; the clocks pause while the conversation waits on the customer."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sla_policies")
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Any of: {"channels": [ids], "channel_kinds": [...], "priorities": [...], "teams": [ids],
    # "languages": [...], "tags": [...], "customer_attributes": {"segment": "vip"}}; {} matches all.
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    first_response_minutes = models.PositiveIntegerField(_("first response"), null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(_("next response"), null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(_("resolution"), null=True, blank=True)
    business_hours = models.BooleanField(_("count business hours only"), default=True)
    # A deadline set by law (a consumer complaint: 14 calendar days in Poland), its own clock: never
    # paused, calendar days.
    legal_days = models.PositiveSmallIntegerField(_("legal deadline (days)"), null=True, blank=True)
    # Warn the assignee and supervisors when this share of a target's time has passed.
    warn_percent = models.PositiveSmallIntegerField(_("warn at (%)"), default=80)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("response-time target")
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="sla_policy_name_unique")]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class CallbackState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")  # its window has not begun
    DUE = "due", _("Due")  # in its window: in the queue
    DONE = "done", _("Done")
    FAILED = "failed", _("Not reached")  # window over without reaching them: offered another channel
    CANCELLED = "cancelled", _("Cancelled")


class CallbackOutcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


class Callback(models.Model):
    """A phone call the customer asked for, in a time window that suits them."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="callbacks")
    conversation = models.ForeignKey("desk.Conversation", on_delete=models.CASCADE, related_name="callbacks")
    phone = models.CharField(_("phone"), max_length=32)  # E.164
    window_start = models.DateTimeField(_("from"))
    window_end = models.DateTimeField(_("until"))
    due_at = models.DateTimeField(_("due"))
    state = models.CharField(
        _("state"), max_length=10, choices=CallbackState.choices, default=CallbackState.SCHEDULED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # After an unanswered call: not before this.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=15, choices=CallbackOutcome.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "state", "due_at"], name="callback_queue")]
        ordering = ["due_at", "id"]

    def __str__(self) -> str:
        return f"{self.phone} {self.window_start:%Y-%m-%d %H:%M}–{self.window_end:%H:%M}"


class CallbackAttempt(models.Model):
    """One call an agent made, with its outcome and notes."""

    callback = models.ForeignKey(Callback, on_delete=models.CASCADE, related_name="attempt_log")
    member = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=15, choices=CallbackOutcome.choices)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.outcome}"
