"""Accounts: self-service sign-up of a shop, people who join through an invitation, one's profile.

Sign-up creates an inactive user and mails a signed confirmation link; confirming activates the
user and creates their (empty) shop. Whether an address already has an account is never revealed
to the person filling the form: that address gets a mail saying so instead of a confirmation.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from ..errors import Conflict, Invalid
from ..lib.addresses import InvalidAddress, normalize_email
from ..models import Membership, Tenant, User
from .admin import SUPPORTED_LANGUAGES, do_accept_invitation, do_create_tenant, invitation_by_token

SIGNUP_SALT = "frontdesk.signup"
SIGNUP_MAX_AGE = dt.timedelta(days=3)
DEFAULT_SIGNUP_SETTINGS: dict[str, Any] = {
    "time_zone": "Europe/Warsaw",
    "languages": ["pl", "en"],
    "country": "PL",
}


def is_unconfirmed(user: User) -> bool:
    """Signed up but never confirmed: inactive, never signed in, member of nothing.

    An operator's deactivated user is inactive too, but has signed in or belongs to a shop; it
    must not be revived by signing up again.
    """
    return not user.is_active and user.last_login is None and not user.memberships.exists()


def _check_password(password: str, *, email: str, name: str) -> None:
    try:
        validate_password(password, user=User(email=email, name=name))
    except ValidationError as exc:
        raise Invalid(fields={"password": list(exc.messages)}) from None


def _check_name(value: str, field: str, max_length: int, required: bool = True) -> str:
    name = " ".join(str(value or "").split())
    if (required and not name) or len(name) > max_length:
        raise Invalid(fields={field: [_("Use 1 to %(n)d characters.") % {"n": max_length}]})
    return name


def _check_email(value: str) -> str:
    try:
        return normalize_email(value)
    except InvalidAddress:
        raise Invalid(fields={"email": [_("Enter a valid email address.")]}) from None


@dataclass(frozen=True)
class SignupForm:
    shop_name: str
    name: str
    email: str
    password: str


def check_signup(shop_name: str, name: str, email: str, password: str) -> SignupForm:
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    for field, value, check in (
        ("shop_name", shop_name, lambda v: _check_name(v, "shop_name", 200)),
        ("name", name, lambda v: _check_name(v, "name", 150)),
        ("email", email, _check_email),
    ):
        try:
            clean[field] = check(value)
        except Invalid as exc:
            errors.update(exc.fields)
    try:
        _check_password(password, email=clean.get("email", ""), name=clean.get("name", ""))
    except Invalid as exc:
        errors.update(exc.fields)
    if errors:
        raise Invalid(fields=errors)
    return SignupForm(password=password, **clean)


def languages_from_header(accept_language: str) -> list[str]:
    """The shop's languages guessed from the browser: the supported ones it asks for, in its order."""
    from django.utils.translation.trans_real import parse_accept_lang_header

    codes: list[str] = []
    for tag, _q in parse_accept_lang_header(accept_language or ""):
        code = tag.split("-")[0].lower()
        if code in SUPPORTED_LANGUAGES and code not in codes:
            codes.append(code)
    return codes or list(DEFAULT_SIGNUP_SETTINGS["languages"])


def signup_token(user: User, shop_name: str, languages: list[str]) -> str:
    return signing.dumps({"u": user.pk, "s": shop_name, "l": languages}, salt=SIGNUP_SALT, compress=True)


def _absolute(path: str) -> str:
    return f"{settings.FRONTDESK_BASE_URL}{path}"


def _mail_on_commit(subject: str, body: str, to: str) -> None:
    transaction.on_commit(lambda: send_mail(subject, body, None, [to], fail_silently=False))


def do_signup(form: SignupForm, *, languages: list[str] | None = None) -> None:
    """Start a sign-up. Always looks the same from outside; what the address receives differs.

    - a new address: an inactive user and a confirmation link;
    - an address that signed up but never confirmed: a fresh confirmation link (the password
      chosen then stays: whoever typed this form may not own the address);
    - an address with an account: a mail saying so, with links to sign in and reset the password.
    """
    languages = [c for c in languages or [] if c in SUPPORTED_LANGUAGES] or list(
        DEFAULT_SIGNUP_SETTINGS["languages"]
    )
    with transaction.atomic():
        user = User.objects.filter(email__iexact=form.email).first()
        if user is not None and not is_unconfirmed(user):
            body = _(
                "Hello,\n\nsomeone (probably you) tried to create a shop on Frontdesk with this address, "
                "but you already have an account.\n\nSign in: %(login)s\n"
                "Forgot your password? Set a new one: %(reset)s\n\n"
                "If it was not you, you can ignore this message.\n"
            ) % {"login": _absolute(reverse("login")), "reset": _absolute(reverse("password_reset"))}
            _mail_on_commit(_("You already have a Frontdesk account"), body, user.email)
            return
        if user is None:
            user = User.objects.create_user(form.email, form.password, name=form.name, is_active=False)
        link = _absolute(
            reverse("signup_confirm", kwargs={"token": signup_token(user, form.shop_name, languages)})
        )
        body = _(
            "Hello %(name)s,\n\nconfirm your email address to create the help desk of %(shop)s "
            "(the link is valid for 3 days):\n%(link)s\n\n"
            "If you did not sign up for Frontdesk, you can ignore this message.\n"
        ) % {"name": user.name or form.name, "shop": form.shop_name, "link": link}
        _mail_on_commit(_("Confirm your email address"), body, user.email)


@dataclass(frozen=True)
class SignupConfirmation:
    user: User
    # None when the address had been confirmed before (the link was used already).
    tenant: Tenant | None


def check_signup_token(token: str) -> tuple[User, dict[str, Any]]:
    """The user and data of a confirmation link, or Invalid (expired, forged, user gone)."""
    try:
        data = signing.loads(token, salt=SIGNUP_SALT, max_age=SIGNUP_MAX_AGE)
    except signing.SignatureExpired:
        raise Invalid(
            _("This confirmation link has expired. Sign up again to get a new one."), code="expired"
        ) from None
    except signing.BadSignature:
        raise Invalid(_("This confirmation link is not valid."), code="bad_token") from None
    user_id = data.get("u") if isinstance(data, dict) else None
    user = User.objects.filter(pk=user_id).first() if isinstance(user_id, int) else None
    if user is None:
        raise Invalid(_("This confirmation link is not valid."), code="bad_token")
    return user, data


def do_confirm_signup(token: str) -> SignupConfirmation:
    """Activate the user of a confirmation link and create their shop. Confirming twice is harmless."""
    user, data = check_signup_token(token)
    with transaction.atomic():
        # Locked so that two clicks at once create one shop, not two.
        user = User.objects.select_for_update().get(pk=user.pk)
        if not is_unconfirmed(user):
            return SignupConfirmation(user=user, tenant=None)
        user.is_active = True
        user.save(update_fields=["is_active"])
        tenant, _owner = do_create_tenant(
            str(data.get("s") or user.display_name),
            user,
            **{
                **DEFAULT_SIGNUP_SETTINGS,
                "languages": list(data.get("l") or DEFAULT_SIGNUP_SETTINGS["languages"]),
            },
        )
    return SignupConfirmation(user=user, tenant=tenant)


def do_accept_invitation_as_new_user(token: str, *, name: str, password: str) -> Membership:
    """Someone without an account opens an invitation: create their user (active: the invitation
    link proves they own the address), accept the invitation."""
    invitation = invitation_by_token(token)
    existing = User.objects.filter(email__iexact=invitation.email).first()
    if existing is not None and not is_unconfirmed(existing):
        raise Conflict(
            _("There is already an account for %(email)s. Sign in to accept the invitation.")
            % {"email": invitation.email},
            code="has_account",
        )
    errors: dict[str, list[str]] = {}
    try:
        name = _check_name(name, "name", 150)
    except Invalid as exc:
        errors.update(exc.fields)
    try:
        _check_password(password, email=invitation.email, name=name)
    except Invalid as exc:
        errors.update(exc.fields)
    if errors:
        raise Invalid(fields=errors)
    with transaction.atomic():
        if existing is None:
            user = User.objects.create_user(invitation.email, password, name=name)
        else:
            user = existing
            user.name, user.is_active = name, True
            user.set_password(password)
            user.save(update_fields=["name", "is_active", "password"])
        return do_accept_invitation(user, token)


PROFILE_FIELDS = {"name", "language", "time_zone"}


def do_update_profile(user: User, data: dict[str, Any]) -> User:
    """One's own name, interface language and time zone."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for name in sorted(set(data) - PROFILE_FIELDS):
        errors[name] = [_("Unknown field.")]
    if "name" in data:
        try:
            clean["name"] = _check_name(data["name"], "name", 150)
        except Invalid as exc:
            errors.update(exc.fields)
    if "language" in data:
        language = str(data["language"] or "")
        if language and language not in dict(settings.LANGUAGES):
            errors["language"] = [_("Choose one of the offered languages.")]
        clean["language"] = language
    if "time_zone" in data:
        time_zone = str(data["time_zone"] or "")
        if time_zone:
            try:
                zoneinfo.ZoneInfo(time_zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                errors["time_zone"] = [_("Unknown time zone.")]
        clean["time_zone"] = time_zone
    if errors:
        raise Invalid(fields=errors)
    for key, value in clean.items():
        setattr(user, key, value)
    if clean:
        user.save(update_fields=list(clean))
    return user


def do_change_password(user: User, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        raise Invalid(fields={"old_password": [_("This is not your current password.")]})
    _check_password(new_password, email=user.email, name=user.name)
    user.set_password(new_password)
    user.save(update_fields=["password"])
