"""The Frontdesk domain. Every row carries its tenant; every lookup is scoped by it (see desk.access)."""

from .channels import Channel, MailboxState
from .chat import ChatOffer, ChatVisitor, hash_visitor_token
from .conversations import (
    ACTIVE_STATUSES,
    DONE_STATUSES,
    PRIORITY_RANK,
    Attachment,
    AuthorKind,
    Conversation,
    DeliveryState,
    Direction,
    Message,
    Priority,
    Status,
    Tag,
)
from .customers import Customer, CustomerIdentity, IdentityKind
from .events import Event
from .inbound import Delivery, DeliveryAttempt, DeliveryStatus, RawInbound, RawState
from .system import Lease, WorkerHeartbeat
from .tenants import (
    ROLE_RANK,
    ApiToken,
    Availability,
    Invitation,
    Membership,
    Role,
    Team,
    Tenant,
    User,
    hash_token,
)

__all__ = [
    "ACTIVE_STATUSES",
    "DONE_STATUSES",
    "PRIORITY_RANK",
    "ROLE_RANK",
    "ApiToken",
    "Attachment",
    "AuthorKind",
    "Availability",
    "Channel",
    "ChatOffer",
    "ChatVisitor",
    "Conversation",
    "Customer",
    "CustomerIdentity",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryState",
    "DeliveryStatus",
    "Direction",
    "Event",
    "IdentityKind",
    "Invitation",
    "Lease",
    "MailboxState",
    "Membership",
    "Message",
    "Priority",
    "RawInbound",
    "RawState",
    "Role",
    "Status",
    "Tag",
    "Team",
    "Tenant",
    "User",
    "WorkerHeartbeat",
    "hash_token",
    "hash_visitor_token",
]
