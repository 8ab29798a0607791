"""Settings of an email channel (Channel.config). Passwords and tokens live in Channel.secrets.

Flat on purpose: the settings page builds its form from this model.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import pydantic
from django.utils.translation import gettext_noop

from frontdesk.desk.lib.addresses import InvalidAddress, normalize_email


class Security(StrEnum):
    SSL = "ssl"  # TLS from the first byte (IMAPS 993, SMTPS 465)
    STARTTLS = "starttls"  # plain, then upgraded (IMAP 143, submission 587)
    NONE = "none"  # only for servers on this machine or a trusted network


class Config(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    address: str = pydantic.Field(
        max_length=320,
        title=gettext_noop("Email address"),
        description=gettext_noop("The address customers write to, e.g. support@shop.example."),
    )
    from_name: str = pydantic.Field(
        "",
        max_length=200,
        title=gettext_noop("Sender name"),
        description=gettext_noop("Shown as the sender of replies; the shop's name when empty."),
    )

    # --- Receiving: IMAP -----------------------------------------------------------------------
    imap_enabled: bool = pydantic.Field(False, title=gettext_noop("Fetch mail over IMAP"))
    imap_host: str = pydantic.Field("", max_length=255, title=gettext_noop("IMAP server"))
    imap_port: int = pydantic.Field(993, ge=1, le=65535, title=gettext_noop("IMAP port"))
    imap_security: Security = pydantic.Field(Security.SSL, title=gettext_noop("IMAP security"))
    imap_username: str = pydantic.Field("", max_length=320, title=gettext_noop("IMAP user name"))
    imap_auth: Literal["password", "xoauth2"] = pydantic.Field(
        "password",
        title=gettext_noop("IMAP sign-in"),
        description=gettext_noop("xoauth2 for Gmail / Microsoft 365."),
    )
    imap_folder: str = pydantic.Field("INBOX", max_length=200, title=gettext_noop("Folder"))
    imap_idle: bool = pydantic.Field(
        True,
        title=gettext_noop("Use IDLE"),
        description=gettext_noop(
            "Mail arrives within seconds where the server supports it; polling otherwise."
        ),
    )
    imap_poll_seconds: int = pydantic.Field(60, ge=10, le=3600, title=gettext_noop("Poll every (seconds)"))
    imap_backfill_days: int = pydantic.Field(
        7,
        ge=0,
        le=3650,
        title=gettext_noop("Import the last days"),
        description=gettext_noop("When the mailbox is connected, import mail of this many past days."),
    )
    imap_move_to: str = pydantic.Field(
        "",
        max_length=200,
        title=gettext_noop("Move imported mail to folder"),
        description=gettext_noop("Empty: mail stays where it is, unchanged (not even marked as read)."),
    )

    # --- Receiving: the built-in SMTP server ---------------------------------------------------
    smtp_receive: bool = pydantic.Field(
        True,
        title=gettext_noop("Accept mail on the built-in SMTP server"),
        description=gettext_noop("For MX records or forwarding rules pointed at this installation."),
    )

    # --- Sending: SMTP ---------------------------------------------------------------------------
    smtp_host: str = pydantic.Field(
        "",
        max_length=255,
        title=gettext_noop("SMTP server"),
        description=gettext_noop("Empty: the installation's mail server (EMAIL_URL)."),
    )
    smtp_port: int = pydantic.Field(587, ge=1, le=65535, title=gettext_noop("SMTP port"))
    smtp_security: Security = pydantic.Field(Security.STARTTLS, title=gettext_noop("SMTP security"))
    smtp_username: str = pydantic.Field("", max_length=320, title=gettext_noop("SMTP user name"))
    smtp_auth: Literal["password", "xoauth2"] = pydantic.Field("password", title=gettext_noop("SMTP sign-in"))

    # --- OAuth 2 (Gmail, Microsoft 365) ----------------------------------------------------------
    oauth_token_url: str = pydantic.Field(
        "",
        max_length=500,
        title=gettext_noop("OAuth token URL"),
        description=gettext_noop(
            "https://oauth2.googleapis.com/token or https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token"
        ),
    )
    oauth_client_id: str = pydantic.Field("", max_length=500, title=gettext_noop("OAuth client id"))
    oauth_scope: str = pydantic.Field(
        "",
        max_length=500,
        title=gettext_noop("OAuth scope"),
        description=gettext_noop(
            "Sent when refreshing the token; Microsoft 365 needs it, e.g. https://outlook.office.com/"
            "IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access"
        ),
    )

    # --- Replies -----------------------------------------------------------------------------------
    reply_header: dict[str, str] = pydantic.Field(
        default_factory=dict,
        title=gettext_noop("Text above replies"),
        description=gettext_noop('Per language, e.g. {"pl": "Dzień dobry,", "en": "Hello,"}.'),
    )
    reply_footer: dict[str, str] = pydantic.Field(
        default_factory=dict,
        title=gettext_noop("Text below replies"),
        description=gettext_noop("Per language; after the agent's signature."),
    )

    @pydantic.field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            return normalize_email(value)
        except InvalidAddress as exc:
            raise ValueError(str(exc)) from None

    @pydantic.model_validator(mode="after")
    def _complete(self) -> Config:
        if self.imap_enabled and not (self.imap_host and self.imap_username):
            raise ValueError("IMAP needs a server and a user name")
        uses_oauth = "xoauth2" in (self.imap_auth, self.smtp_auth)
        if uses_oauth and not (self.oauth_token_url and self.oauth_client_id):
            raise ValueError("OAuth sign-in needs the token URL and the client id")
        return self


# Secrets an admin types in (never shown again): Channel.secrets keys.
SECRET_FIELDS = ("imap_password", "smtp_password", "oauth_client_secret", "oauth_refresh_token")
