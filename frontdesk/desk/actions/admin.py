"""Running a tenant: settings, members and invitations, teams, tags, channels, API tokens.

Everything here needs an admin (or owner) unless said otherwise; roles are checked here, not only
in templates.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import zoneinfo
from collections.abc import Iterable
from typing import Any

import pydantic
import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from frontdesk.channels.registry import UnknownChannelKind, get_adapter

from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..events import record_event
from ..lib.addresses import InvalidAddress, normalize_email
from ..models import (
    ROLE_RANK,
    ApiToken,
    Availability,
    Channel,
    Invitation,
    Membership,
    RawInbound,
    RawState,
    Role,
    Tag,
    Team,
    Tenant,
    User,
    hash_token,
)

log = structlog.get_logger(__name__)

SUPPORTED_LANGUAGES = {"en", "pl", "ru", "de", "uk", "cs", "sk", "lt", "fr", "es", "it"}
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def require(member: Membership, role: str) -> None:
    if not member.has_role(role):
        raise Forbidden()


# --- Tenants ---------------------------------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "shop"
    slug, n = base, 2
    while Tenant.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def check_tenant_settings(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    unknown = set(data) - {"name", "time_zone", "languages", "country", "reopen_closed"}
    for name in sorted(unknown):
        errors[name] = [_("Unknown field.")]
    if "name" in data:
        name = str(data["name"] or "").strip()
        if not name or len(name) > 200:
            errors["name"] = [_("Give the shop a name of 1 to 200 characters.")]
        clean["name"] = name
    if "time_zone" in data:
        try:
            zoneinfo.ZoneInfo(str(data["time_zone"]))
            clean["time_zone"] = str(data["time_zone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = [_("Unknown time zone.")]
    if "languages" in data:
        languages = [str(code).strip().lower() for code in data["languages"] or []]
        if not languages or any(code not in SUPPORTED_LANGUAGES for code in languages):
            errors["languages"] = [
                _("Choose one or more of: %(codes)s.") % {"codes": ", ".join(sorted(SUPPORTED_LANGUAGES))}
            ]
        clean["languages"] = list(dict.fromkeys(languages))
    if "country" in data:
        country = str(data["country"] or "").upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            errors["country"] = [_("Use a two-letter country code such as PL.")]
        clean["country"] = country
    if "reopen_closed" in data:
        clean["reopen_closed"] = bool(data["reopen_closed"])
    if errors:
        raise Invalid(fields=errors)
    return clean


def do_create_tenant(name: str, owner: User, **settings_: Any) -> tuple[Tenant, Membership]:
    """A new, empty shop with `owner` as its owner. Used by sign-up, `frontdesk createtenant`, demo."""
    clean = check_tenant_settings({"name": name, **settings_})
    clean.setdefault("languages", ["en"])
    with transaction.atomic():
        tenant = Tenant.objects.create(slug=_unique_slug(clean["name"]), **clean)
        membership = Membership.objects.create(
            tenant=tenant,
            user=owner,
            role=Role.OWNER,
            availability=Availability.ONLINE,
            languages=tenant.languages,
        )
        record_event(tenant, "tenant.created", actor=membership, data={"name": tenant.name})
    return tenant, membership


def do_update_tenant(member: Membership, data: dict[str, Any]) -> Tenant:
    require(member, Role.ADMIN)
    clean = check_tenant_settings(data)
    tenant = member.tenant
    with transaction.atomic():
        for key, value in clean.items():
            setattr(tenant, key, value)
        tenant.save(update_fields=list(clean))
        record_event(tenant, "tenant.updated", actor=member, data={"fields": sorted(clean)})
    return tenant


# --- Members and invitations ---------------------------------------------------------------------


def _check_role_change(actor: Membership, role: str, target_role: str | None = None) -> None:
    if role not in Role.values:
        raise Invalid(fields={"role": [_("Unknown role.")]})
    require(actor, Role.ADMIN)
    # Nobody hands out (or takes away) a role above their own; only owners make owners.
    if ROLE_RANK[Role(role)] > ROLE_RANK[Role(actor.role)]:
        raise Forbidden(_("You cannot give a role higher than your own."))
    if target_role is not None and ROLE_RANK[Role(target_role)] > ROLE_RANK[Role(actor.role)]:
        raise Forbidden(_("You cannot change a member whose role is higher than yours."))


def do_add_member(
    tenant: Tenant, user: User, role: str = Role.AGENT, actor: Membership | None = None
) -> Membership:
    """Make `user` a member (or re-activate them). `actor` None: the operator, from the command line."""
    if actor is not None:
        _check_role_change(actor, role)
    elif role not in Role.values:
        raise Invalid(fields={"role": [_("Unknown role.")]})
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            tenant=tenant, user=user, defaults={"role": role, "languages": tenant.languages}
        )
        if not created:
            membership.role = role
            membership.is_active = True
            membership.save(update_fields=["role", "is_active"])
        record_event(tenant, "member.added", actor=actor, data={"member": membership.pk, "role": role})
    return membership


def check_invite(member: Membership, email: str, role: str) -> str:
    _check_role_change(member, role)
    try:
        email = normalize_email(email)
    except InvalidAddress as exc:
        raise Invalid(str(exc), fields={"email": [_("Enter a valid email address.")]}) from None
    if Membership.objects.filter(tenant=member.tenant, user__email=email, is_active=True).exists():
        raise Conflict(_("%(email)s is already a member.") % {"email": email}, code="already_member")
    return email


def do_invite(member: Membership, email: str, role: str = Role.AGENT) -> tuple[Invitation, str]:
    """Invite by email. Returns the invitation and the link (sent by mail after commit)."""
    email = check_invite(member, email, role)
    token = Invitation.new_token()
    link = f"{settings.FRONTDESK_BASE_URL}/invitations/{token}/"
    tenant = member.tenant
    with transaction.atomic():
        Invitation.objects.filter(tenant=tenant, email=email, accepted_at=None, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        invitation = Invitation.objects.create(
            tenant=tenant,
            email=email,
            role=role,
            token_hash=hash_token(token),
            invited_by=member,
            expires_at=timezone.now() + dt.timedelta(days=7),
        )
        record_event(tenant, "member.invited", actor=member, data={"email": email, "role": role})
        subject = _("%(name)s invites you to answer customers of %(shop)s") % {
            "name": member.display_name,
            "shop": tenant.name,
        }
        body = _(
            "Hello,\n\n%(name)s invited you to join %(shop)s on Frontdesk as %(role)s.\n\n"
            "Accept the invitation (valid for 7 days):\n%(link)s\n"
        ) % {"name": member.display_name, "shop": tenant.name, "role": Role(role).label, "link": link}
        transaction.on_commit(lambda: send_mail(subject, body, None, [email], fail_silently=False))
    return invitation, link


def invitation_by_token(token: str) -> Invitation:
    invitation = Invitation.objects.select_related("tenant").filter(token_hash=hash_token(token)).first()
    if invitation is None or not invitation.is_open:
        raise NotFound(_("This invitation is no longer valid."))
    return invitation


def do_accept_invitation(user: User, token: str) -> Membership:
    invitation = invitation_by_token(token)
    if user.email.lower() != invitation.email:
        raise Forbidden(_("This invitation was sent to another email address."))
    with transaction.atomic():
        membership = do_add_member(invitation.tenant, user, invitation.role)
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
    return membership


def do_revoke_invitation(member: Membership, invitation: Invitation) -> None:
    require(member, Role.ADMIN)
    if invitation.tenant_id != member.tenant_id:
        raise NotFound()
    with transaction.atomic():
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        record_event(member.tenant, "invitation.revoked", actor=member, data={"email": invitation.email})


MEMBER_FIELDS = {"role", "is_active", "capacity", "languages", "availability", "signature"}
# What a member may change about themselves without being an admin.
OWN_MEMBER_FIELDS = {"availability", "signature"}
MAX_SIGNATURE_CHARS = 2000


def do_update_member(actor: Membership, target: Membership, data: dict[str, Any]) -> Membership:
    """Change a member. Anyone may change their own availability and signature; the rest needs
    an admin."""
    unknown = set(data) - MEMBER_FIELDS
    if unknown:
        raise Invalid(fields={name: [_("Unknown field.")] for name in sorted(unknown)})
    if target.tenant_id != actor.tenant_id:
        raise NotFound()
    if set(data) - OWN_MEMBER_FIELDS or target.pk != actor.pk:
        require(actor, Role.ADMIN)
    # Not only the role: an admin may not deactivate an owner or change their capacity either.
    if target.pk != actor.pk and ROLE_RANK[Role(target.role)] > ROLE_RANK[Role(actor.role)]:
        raise Forbidden(_("You cannot change a member whose role is higher than yours."))
    clean: dict[str, Any] = {}
    if "role" in data:
        _check_role_change(actor, data["role"], target.role)
        clean["role"] = data["role"]
    if "availability" in data:
        if data["availability"] not in Availability.values:
            raise Invalid(fields={"availability": [_("Unknown availability.")]})
        clean["availability"] = data["availability"]
    if "capacity" in data:
        try:
            capacity = int(data["capacity"])
        except (TypeError, ValueError):
            capacity = -1
        if not 0 <= capacity <= 100:
            raise Invalid(fields={"capacity": [_("Use a number from 0 (no limit) to 100.")]})
        clean["capacity"] = capacity
    if "languages" in data:
        clean["languages"] = [
            str(c).lower() for c in data["languages"] or [] if str(c).lower() in SUPPORTED_LANGUAGES
        ]
    if "signature" in data:
        clean["signature"] = _clean_signature(data["signature"])
    if "is_active" in data:
        clean["is_active"] = bool(data["is_active"])
        if not clean["is_active"] and target.pk == actor.pk:
            raise Invalid(_("You cannot deactivate yourself."), code="self")
    # The last owner stays: a shop always has someone who can run it.
    demoting_owner = target.role == Role.OWNER and (
        clean.get("role", Role.OWNER) != Role.OWNER or clean.get("is_active") is False
    )
    if (
        demoting_owner
        and not Membership.objects.filter(tenant=target.tenant_id, role=Role.OWNER, is_active=True)
        .exclude(pk=target.pk)
        .exists()
    ):
        raise Conflict(_("A shop needs at least one owner."), code="last_owner")
    if not clean:
        return target
    with transaction.atomic():
        for key, value in clean.items():
            setattr(target, key, value)
        target.save(update_fields=list(clean))
        record_event(
            actor.tenant_id,
            "member.updated",
            actor=actor,
            data={
                "member": target.pk,
                **{k: v for k, v in clean.items() if k not in ("languages", "signature")},
            },
        )
    return target


def _clean_signature(value: Any) -> str:
    """Plain text added under the member's email replies. A leading "-- " line is dropped: the
    email channel writes that separator itself."""
    lines = [line.rstrip() for line in str(value or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and lines[0].strip() in ("", "--"):
        lines.pop(0)
    signature = "\n".join(lines).strip()
    if len(signature) > MAX_SIGNATURE_CHARS:
        raise Invalid(fields={"signature": [_("At most %(n)d characters.") % {"n": MAX_SIGNATURE_CHARS}]})
    return signature


# --- Teams and tags --------------------------------------------------------------------------------


def _clean_name(value: Any, field: str = "name", max_length: int = 100) -> str:
    name = str(value or "").strip()
    if not name or len(name) > max_length:
        raise Invalid(fields={field: [_("Use 1 to %(n)d characters.") % {"n": max_length}]})
    return name


def do_save_team(
    member: Membership,
    team: Team | None,
    *,
    name: str,
    description: str = "",
    members: Iterable[Membership] | None = None,
) -> Team:
    require(member, Role.SUPERVISOR)
    name = _clean_name(name)
    chosen = list(members) if members is not None else None
    if chosen and any(m.tenant_id != member.tenant_id for m in chosen):
        raise Invalid(fields={"members": [_("Unknown member.")]})
    try:
        with transaction.atomic():
            if team is None:
                team = Team.objects.create(tenant=member.tenant, name=name, description=description[:300])
                kind = "team.created"
            else:
                team.name, team.description = name, description[:300]
                team.save(update_fields=["name", "description"])
                kind = "team.updated"
            if chosen is not None:
                team.members.set(chosen)
            record_event(member.tenant, kind, actor=member, data={"team": team.pk, "name": name})
    except IntegrityError:
        raise Conflict(
            _("A team with this name exists."), code="duplicate_name", fields={"name": [_("Taken.")]}
        ) from None
    return team


def do_delete_team(member: Membership, team: Team) -> None:
    require(member, Role.ADMIN)
    with transaction.atomic():
        record_event(member.tenant, "team.deleted", actor=member, data={"team": team.pk, "name": team.name})
        team.delete()


def do_save_tag(member: Membership, tag: Tag | None, *, name: str, color: str = "#6b7280") -> Tag:
    require(member, Role.SUPERVISOR)
    name = _clean_name(name, max_length=50)
    if not _HEX.match(color or ""):
        raise Invalid(fields={"color": [_("Use a colour such as #1d4ed8.")]})
    try:
        with transaction.atomic():
            if tag is None:
                tag = Tag.objects.create(tenant=member.tenant, name=name, color=color)
                kind = "tag.created"
            else:
                tag.name, tag.color = name, color
                tag.save(update_fields=["name", "color"])
                kind = "tag.updated"
            record_event(member.tenant, kind, actor=member, data={"tag": tag.pk, "name": name})
    except IntegrityError:
        raise Conflict(
            _("A tag with this name exists."), code="duplicate_name", fields={"name": [_("Taken.")]}
        ) from None
    return tag


def do_delete_tag(member: Membership, tag: Tag) -> None:
    require(member, Role.ADMIN)
    with transaction.atomic():
        record_event(member.tenant, "tag.deleted", actor=member, data={"tag": tag.pk, "name": tag.name})
        tag.delete()


# --- Channels -------------------------------------------------------------------------------------


def _validated_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    try:
        adapter = get_adapter(kind)
    except UnknownChannelKind:
        raise Invalid(fields={"kind": [_("Unknown channel kind.")]}) from None
    try:
        return adapter.validate_config(config)
    except pydantic.ValidationError as exc:
        fields: dict[str, list[str]] = {}
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "config"
            fields.setdefault(f"config.{key}", []).append(err["msg"].removeprefix("Value error, "))
        raise Invalid(_("The channel settings are not valid."), fields=fields) from None


def _check_address_free(address: str, *, exclude: int | None = None) -> None:
    """An address routes received mail to one channel: no two channels (of any shop) share it."""
    if not address:
        return
    taken = Channel.objects.filter(inbound_address__iexact=address)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise Conflict(
            _("Another channel already receives mail for %(address)s.") % {"address": address},
            code="address_taken",
            fields={"config.address": [_("Taken by another channel.")]},
        )


def do_create_channel(
    member: Membership, kind: str, name: str, config: dict[str, Any] | None = None
) -> Channel:
    require(member, Role.ADMIN)
    name = _clean_name(name)
    clean = _validated_config(kind, config or {})
    adapter = get_adapter(kind)
    _check_address_free(adapter.inbound_address(clean))
    with transaction.atomic():
        channel = Channel(
            tenant=member.tenant,
            kind=kind,
            name=name,
            config=clean,
            inbound_address=adapter.inbound_address(clean),
        )
        channel.secrets = adapter.generate_secrets()
        channel.save()
        record_event(
            member.tenant, "channel.created", actor=member, data={"channel": channel.pk, "kind": kind}
        )
    return channel


def do_update_channel(
    member: Membership,
    channel: Channel,
    *,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    disabled: bool | None = None,
) -> Channel:
    require(member, Role.ADMIN)
    fields = []
    if name is not None:
        channel.name = _clean_name(name)
        fields.append("name")
    if config is not None:
        channel.config = _validated_config(channel.kind, config)
        channel.inbound_address = channel.adapter.inbound_address(channel.config)
        _check_address_free(channel.inbound_address, exclude=channel.pk)
        fields += ["config", "inbound_address"]
    if disabled is not None:
        channel.disabled = disabled
        fields.append("disabled")
        if not disabled:
            channel.last_error, channel.last_error_at = "", None
            fields += ["last_error", "last_error_at"]
    if fields:
        with transaction.atomic():
            channel.save(update_fields=fields)
            record_event(
                member.tenant, "channel.updated", actor=member, data={"channel": channel.pk, "fields": fields}
            )
    return channel


def generated_secret_names(adapter: Any) -> tuple[str, ...]:
    """The secrets the channel makes itself (signing keys): shown once, rotated, never typed in."""
    return tuple(adapter.generate_secrets())


def typed_secret_names(adapter: Any) -> tuple[str, ...]:
    """The secrets an admin types in (passwords, provider tokens): write-only in the settings."""
    generated = set(generated_secret_names(adapter))
    return tuple(name for name in adapter.secret_fields if name not in generated)


def do_rotate_channel_secrets(member: Membership, channel: Channel) -> Channel:
    """New generated secrets (signing keys); the secrets an admin typed in stay as they are."""
    require(member, Role.ADMIN)
    with transaction.atomic():
        channel.secrets = {**channel.secrets, **channel.adapter.generate_secrets()}
        channel.save(update_fields=["secrets_encrypted"])
        record_event(member.tenant, "channel.secrets_rotated", actor=member, data={"channel": channel.pk})
    return channel


MAX_SECRET_CHARS = 8192


def do_set_channel_secrets(member: Membership, channel: Channel, values: dict[str, str | None]) -> Channel:
    """Set or clear the secrets an admin types in (passwords, OAuth tokens) of a channel.

    `values` maps a secret's name to its new value; None or "" clears it. Secrets not named stay
    as they are. Only names the adapter declares and does not generate itself are accepted. The
    event names what changed, never the values.
    """
    require(member, Role.ADMIN)
    allowed = typed_secret_names(channel.adapter)
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if name not in allowed:
            errors[f"secrets.{name}"] = [_("Unknown secret.")]
        elif value is not None and len(value) > MAX_SECRET_CHARS:
            errors[f"secrets.{name}"] = [
                _("At most %(n)d characters.") % {"n": MAX_SECRET_CHARS},
            ]
        elif value and ("\r" in value or "\n" in value):
            # A pasted line break would end up in an IMAP/SMTP command.
            errors[f"secrets.{name}"] = [_("Line breaks are not allowed.")]
    if errors:
        raise Invalid(fields=errors)
    if not values:
        return channel
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel.pk)
        current = channel.secrets
        changed = {name: value for name, value in values.items() if value}
        cleared = sorted(name for name, value in values.items() if not value and name in current)
        if not changed and not cleared:
            return channel
        secrets_ = {k: v for k, v in current.items() if k not in cleared}
        secrets_.update(changed)
        channel.secrets = secrets_
        channel.save(update_fields=["secrets_encrypted"])
        record_event(
            member.tenant,
            "channel.secrets_set",
            actor=member,
            data={"channel": channel.pk, "set": sorted(changed), "cleared": cleared},
        )
    return channel


def do_reprocess_raw(member: Membership, raw: RawInbound) -> tuple[RawInbound, list[int]]:
    """Process a quarantined payload (rejected or failed) again, e.g. after a parser fix.

    Returns the payload with its new state and error, and the numbers of the conversations its
    messages went to. Processing is idempotent: a message received before is not received twice.
    """
    from .inbound import process_raw

    require(member, Role.ADMIN)
    if raw.state not in (RawState.REJECTED, RawState.FAILED):
        raise Conflict(_("Only rejected or failed payloads can be processed again."), code="not_quarantined")
    numbers: list[int] = []
    try:
        results = process_raw(raw)
    except Exception as exc:
        # process_raw stored the new state and the reason on the payload: the admin reads them there.
        log.info("raw.reprocess_failed", raw=raw.pk, error=str(exc)[:200])
    else:
        numbers = sorted({r.conversation.number for r in results})
    raw.refresh_from_db(fields=["state", "error", "attempts", "processed_at"])
    record_event(
        member.tenant,
        "channel.raw_reprocessed",
        actor=member,
        data={"channel": raw.channel_id, "raw": raw.pk, "state": raw.state, "conversations": numbers},
    )
    return raw, numbers


# --- API tokens -----------------------------------------------------------------------------------


def do_create_api_token(member: Membership, name: str) -> tuple[ApiToken, str]:
    """A new token acting as `member`. The secret is returned once and never stored."""
    require(member, Role.ADMIN)
    name = _clean_name(name)
    lookup = secrets.token_hex(6)
    secret = f"{ApiToken.PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            tenant=member.tenant, name=name, lookup=lookup, token_hash=hash_token(secret), member=member
        )
        record_event(member.tenant, "api_token.created", actor=member, data={"token": token.pk, "name": name})
    return token, secret


def do_revoke_api_token(member: Membership, token: ApiToken) -> None:
    require(member, Role.ADMIN)
    if token.tenant_id != member.tenant_id:
        raise NotFound()
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_event(member.tenant, "api_token.revoked", actor=member, data={"token": token.pk})


def authenticate_api_token(secret: str) -> ApiToken | None:
    """The live token for `secret`, or None. Constant-time on the hash comparison."""
    if not secret.startswith(ApiToken.PREFIX):
        return None
    lookup = secret[len(ApiToken.PREFIX) :].split("_", 1)[0]
    token = (
        ApiToken.objects.select_related("tenant", "member__user", "member__tenant")
        .filter(lookup=lookup, revoked_at=None, tenant__is_active=True)
        .first()
    )
    if token is None or not secrets.compare_digest(token.token_hash, hash_token(secret)):
        return None
    if not token.member.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
