"""How a channel kind's settings form is laid out: sections, per-language texts, choice labels,
presets. Kinds without a layout get one plain section of every field (settings_config_form).

A layout only arranges what the adapter's Config model declares; the model stays the judge of
the values. Fields the layout does not name still appear, in a last section, so a setting added
to a Config later is never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Section:
    key: str
    title: Any
    # Config field names and typed-in secret names (Channel.secrets), in the order shown.
    fields: tuple[str, ...]
    help: Any = ""
    # A connection test offered at the end of the section ("imap", "smtp").
    check: str = ""


@dataclass(frozen=True)
class Preset:
    """Values a button fills in for a well-known provider; the admin can still change them."""

    key: str
    label: Any
    values: dict[str, Any]
    help: Any = ""
    # Fields filled with the channel's address when they are empty (user names).
    from_address: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "label": str(self.label),
            "values": self.values,
            "from_address": list(self.from_address),
            "help": str(self.help),
        }


@dataclass(frozen=True)
class Layout:
    sections: tuple[Section, ...]
    # dict[str, str] fields keyed by language: one text area per language of the shop.
    per_language: tuple[str, ...] = ()
    choice_labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)
    presets: tuple[Preset, ...] = ()


_SECURITY = {
    "ssl": _("SSL/TLS (ports 993, 465)"),
    "starttls": _("STARTTLS (ports 143, 587)"),
    "none": _("None: only for a server on this machine or a trusted network"),
}
_AUTH = {"password": _("Password"), "xoauth2": _("OAuth 2 (Gmail, Microsoft 365)")}

GMAIL_OAUTH_URL = "https://oauth2.googleapis.com/token"
# An app registered for one directory (the usual case) must use that directory's id here: the
# admin replaces the placeholder (the preset's help says so; a connection test names it too).
MICROSOFT_OAUTH_URL = "https://login.microsoftonline.com/<tenant-id>/oauth2/v2.0/token"

EMAIL_LAYOUT = Layout(
    sections=(
        Section("address", _("Address"), ("address", "from_name")),
        Section(
            "imap",
            _("Receiving by IMAP"),
            (
                "imap_enabled",
                "imap_host",
                "imap_port",
                "imap_security",
                "imap_username",
                "imap_auth",
                "imap_password",
                "imap_folder",
                "imap_idle",
                "imap_poll_seconds",
                "imap_backfill_days",
                "imap_move_to",
            ),
            help=_(
                "Frontdesk reads new mail from an existing mailbox. Mail is never deleted and not even "
                "marked as read unless you choose a folder to move it to."
            ),
            check="imap",
        ),
        Section(
            "smtp_receive",
            _("Built-in SMTP receiver"),
            ("smtp_receive",),
            help=_(
                "Instead of (or besides) IMAP, mail can be delivered straight to Frontdesk: point your "
                "domain's MX record or a forwarding rule at this installation."
            ),
        ),
        Section(
            "smtp",
            _("Sending by SMTP"),
            ("smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_auth", "smtp_password"),
            help=_(
                "Replies go out through your mail provider's SMTP server, so they are signed for your "
                "domain and land in your Sent folder where the provider does that."
            ),
            check="smtp",
        ),
        Section(
            "oauth",
            _("OAuth 2 sign-in"),
            (
                "oauth_token_url",
                "oauth_client_id",
                "oauth_scope",
                "oauth_client_secret",
                "oauth_refresh_token",
            ),
            help=_(
                "Only for Gmail and Microsoft 365 accounts signed in with OAuth 2 instead of a "
                "password. The documentation (email set-up) shows how to get these values."
            ),
        ),
        Section(
            "replies",
            _("Text around replies"),
            ("reply_header", "reply_footer"),
            help=_(
                "Added to every reply in the conversation's language. You may use {customer_name}, "
                "{agent_name}, {shop_name} and {conversation_number}."
            ),
        ),
    ),
    per_language=("reply_header", "reply_footer"),
    choice_labels={
        "imap_security": _SECURITY,
        "smtp_security": _SECURITY,
        "imap_auth": _AUTH,
        "smtp_auth": _AUTH,
    },
    placeholders={
        "address": "support@shop.example",
        "imap_host": "imap.shop.example",
        "smtp_host": "smtp.shop.example",
        "imap_move_to": "Frontdesk",
    },
    presets=(
        Preset(
            "gmail",
            _("Gmail (app password)"),
            {
                "imap_enabled": True,
                "imap_host": "imap.gmail.com",
                "imap_port": 993,
                "imap_security": "ssl",
                "imap_auth": "password",
                "smtp_host": "smtp.gmail.com",
                "smtp_port": 465,
                "smtp_security": "ssl",
                "smtp_auth": "password",
            },
            from_address=("imap_username", "smtp_username"),
        ),
        Preset(
            "gmail_oauth",
            _("Gmail (OAuth)"),
            {
                "imap_enabled": True,
                "imap_host": "imap.gmail.com",
                "imap_port": 993,
                "imap_security": "ssl",
                "imap_auth": "xoauth2",
                "smtp_host": "smtp.gmail.com",
                "smtp_port": 465,
                "smtp_security": "ssl",
                "smtp_auth": "xoauth2",
                "oauth_token_url": GMAIL_OAUTH_URL,
            },
            from_address=("imap_username", "smtp_username"),
        ),
        Preset(
            "microsoft365",
            _("Microsoft 365"),
            {
                "imap_enabled": True,
                "imap_host": "outlook.office365.com",
                "imap_port": 993,
                "imap_security": "ssl",
                "imap_auth": "xoauth2",
                "smtp_host": "smtp.office365.com",
                "smtp_port": 587,
                "smtp_security": "starttls",
                "smtp_auth": "xoauth2",
                "oauth_token_url": MICROSOFT_OAUTH_URL,
                "oauth_scope": (
                    "https://outlook.office.com/IMAP.AccessAsUser.All "
                    "https://outlook.office.com/SMTP.Send offline_access"
                ),
            },
            help=_("Then replace <tenant-id> in the OAuth token URL with your directory (tenant) ID."),
            from_address=("imap_username", "smtp_username"),
        ),
        Preset(
            "imap",
            _("Other IMAP server"),
            {
                "imap_enabled": True,
                "imap_port": 993,
                "imap_security": "ssl",
                "imap_auth": "password",
                "smtp_port": 587,
                "smtp_security": "starttls",
                "smtp_auth": "password",
            },
            help=_("Then type your provider's server names."),
            from_address=("imap_username", "smtp_username"),
        ),
    ),
)

_PRECHAT = {"off": _("Not asked"), "optional": _("Asked, optional"), "required": _("Required")}

CHAT_LAYOUT = Layout(
    sections=(
        Section(
            "appearance",
            _("Appearance"),
            ("title", "color", "position", "greeting", "launcher_text", "widget_texts"),
            help=_("How the chat looks on your site. Texts are given per language of your shop."),
        ),
        Section(
            "prechat",
            _("Pre-chat form"),
            ("prechat_name", "prechat_email", "prechat_phone"),
            help=_("What a visitor is asked before their first message."),
        ),
        Section(
            "offline",
            _("When nobody is available"),
            ("offer_email", "offer_call"),
            help=_(
                "When no agent is online with room for another chat, the visitor can leave a way to "
                "answer them instead."
            ),
        ),
        Section("routing", _("Routing"), ("reoffer_seconds",)),
        Section("files", _("Files"), ("max_upload_mb", "upload_types")),
        Section("sites", _("Sites"), ("allowed_origins",)),
        Section("invitations", _("Invitations"), ("invitations",)),
    ),
    per_language=("greeting", "launcher_text"),
    choice_labels={
        "position": {"right": _("Bottom right"), "left": _("Bottom left")},
        "prechat_name": _PRECHAT,
        "prechat_email": _PRECHAT,
        "prechat_phone": _PRECHAT,
    },
    placeholders={"color": "#0b6bcb", "allowed_origins": "https://shop.example"},
)

LAYOUTS: dict[str, Layout] = {"email": EMAIL_LAYOUT, "chat": CHAT_LAYOUT}

# Names of secrets an admin types in, as the settings show them; unknown ones get a made-up label.
SECRET_LABELS: dict[str, Any] = {
    "signing_secret": _("Signing secret"),
    "identity_secret": _("Identity secret"),
    "imap_password": _("IMAP password"),
    "smtp_password": _("SMTP password"),
    "oauth_client_secret": _("OAuth client secret"),
    "oauth_refresh_token": _("OAuth refresh token"),
}
SECRET_HELP: dict[str, Any] = {
    "imap_password": _("For Gmail, an app password (your Google account's security settings)."),
    "smtp_password": _("Often the same as the IMAP password."),
    "oauth_refresh_token": _("Issued once when the mailbox's owner allowed access (see the documentation)."),
}


def layout_for(kind: str) -> Layout | None:
    return LAYOUTS.get(kind)
