"""Normalising the addresses that identify customers: one spelling per person."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

_email_validator = EmailValidator()


class InvalidAddress(ValueError):
    pass


def normalize_email(value: str) -> str:
    """Lower-cased, trimmed, validated email address. Raises InvalidAddress."""
    address = value.strip().lower()
    try:
        _email_validator(address)
    except ValidationError:
        raise InvalidAddress(f"{value!r} is not a valid email address") from None
    return address


def normalize_phone(value: str, default_region: str = "PL") -> str:
    """The number in E.164 (+48601234567). National numbers are read in `default_region`."""
    try:
        number = phonenumbers.parse(value, default_region.upper() or None)
    except phonenumbers.NumberParseException:
        raise InvalidAddress(f"{value!r} is not a valid phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidAddress(f"{value!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_identity(kind: str, address: str, default_region: str = "PL") -> str:
    if kind == "email":
        return normalize_email(address)
    if kind == "phone":
        return normalize_phone(address, default_region)
    address = address.strip()
    if not address or len(address) > 320:
        raise InvalidAddress(f"{kind} identity must be 1 to 320 characters")
    return address
