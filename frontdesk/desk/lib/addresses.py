"""Normalising the addresses that identify customers: one spelling per person."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext as _

_email_validator = EmailValidator()


class InvalidAddress(ValueError):
    pass


def normalize_email(value: str) -> str:
    """Lower-cased, trimmed, validated email address. Raises InvalidAddress."""
    address = value.strip().lower()
    try:
        _email_validator(address)
    except ValidationError:
        raise InvalidAddress(_("%(value)s is not a valid email address") % {"value": repr(value)}) from None
    return address


def normalize_phone(value: str, default_region: str = "PL") -> str:
    """The number in E.164 (+48601234567). National numbers are read in `default_region`."""
    try:
        number = phonenumbers.parse(value, default_region.upper() or None)
    except phonenumbers.NumberParseException:
        raise InvalidAddress(_("%(value)s is not a valid phone number") % {"value": repr(value)}) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidAddress(_("%(value)s is not a valid phone number") % {"value": repr(value)})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_identity(kind: str, address: str, default_region: str = "PL") -> str:
    if kind == "email":
        return normalize_email(address)
    if kind == "phone":
        return normalize_phone(address, default_region)
    address = address.strip()
    if not address or len(address) > 320:
        raise InvalidAddress(_("%(kind)s identity must be 1 to 320 characters") % {"kind": kind})
    return address
