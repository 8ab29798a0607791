"""Fetch objects scoped to the caller's tenant, or raise NotFound.

One helper per object type; every view, API endpoint and consumer goes through these, so a
member of another tenant can never reach an object (they get 404, exactly as for a missing one).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .errors import NotFound
from .models import (
    ApiToken,
    Attachment,
    Channel,
    Conversation,
    Customer,
    CustomerIdentity,
    Invitation,
    Membership,
    Message,
    RawInbound,
    Tag,
    Team,
    Tenant,
    User,
)


def membership_for(user: User | Any, tenant_slug: str) -> Membership:
    """The active membership of `user` in the tenant with this slug."""
    if not getattr(user, "is_authenticated", False):
        raise NotFound()
    try:
        return Membership.objects.select_related("tenant", "user").get(
            user=user, tenant__slug=tenant_slug, tenant__is_active=True, is_active=True
        )
    except Membership.DoesNotExist:
        raise NotFound() from None


def _get(qs: QuerySet[Any], **lookup: Any) -> Any:
    try:
        return qs.get(**lookup)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def conversations_of(tenant: Tenant) -> QuerySet[Conversation]:
    return Conversation.objects.filter(tenant=tenant)


def access_conversation(member: Membership, number: int | str) -> Conversation:
    return _get(
        conversations_of(member.tenant).select_related(
            "customer", "channel", "reply_channel", "assignee__user", "team"
        ),
        number=number,
    )


def access_customer(member: Membership, customer_id: int | str) -> Customer:
    return _get(Customer.objects.filter(tenant=member.tenant), pk=customer_id)


def access_message(member: Membership, message_id: int | str) -> Message:
    return _get(Message.objects.filter(tenant=member.tenant).select_related("conversation"), pk=message_id)


def access_team(member: Membership, team_id: int | str) -> Team:
    return _get(Team.objects.filter(tenant=member.tenant), pk=team_id)


def access_tag(member: Membership, tag_id: int | str) -> Tag:
    return _get(Tag.objects.filter(tenant=member.tenant), pk=tag_id)


def access_channel(member: Membership, channel_id: int | str) -> Channel:
    return _get(Channel.objects.filter(tenant=member.tenant), pk=channel_id)


def access_raw_inbound(member: Membership, channel: Channel, raw_id: int | str) -> RawInbound:
    """A payload received by `channel` (itself fetched with access_channel)."""
    return _get(
        RawInbound.objects.filter(tenant=member.tenant, channel_id=channel.pk).select_related("channel"),
        pk=raw_id,
    )


def access_member(member: Membership, membership_id: int | str) -> Membership:
    return _get(Membership.objects.filter(tenant=member.tenant).select_related("user"), pk=membership_id)


def access_identity(member: Membership, customer: Customer, identity_id: int | str) -> CustomerIdentity:
    """An identity of `customer` (itself fetched with access_customer)."""
    return _get(
        CustomerIdentity.objects.filter(tenant=member.tenant, customer_id=customer.pk), pk=identity_id
    )


def access_attachment(member: Membership, token: str) -> Attachment:
    return _get(
        Attachment.objects.filter(tenant=member.tenant).select_related("message__conversation"), token=token
    )


def access_invitation(member: Membership, invitation_id: int | str) -> Invitation:
    return _get(Invitation.objects.filter(tenant=member.tenant), pk=invitation_id)


def access_api_token(member: Membership, token_id: int | str) -> ApiToken:
    return _get(ApiToken.objects.filter(tenant=member.tenant).select_related("member__user"), pk=token_id)
