"""Storing attachments: limits checked first, files kept outside the database rows."""

from __future__ import annotations

import mimetypes
import re
import secrets
import unicodedata
from collections.abc import Sequence

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from frontdesk.channels.base import InboundAttachment

from ..errors import Invalid
from ..models import Attachment, Message

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")


def safe_filename(name: str) -> str:
    """A display name that cannot escape a directory or break a header; never used as a path."""
    name = unicodedata.normalize("NFC", name or "")
    name = _UNSAFE.sub("_", name).strip(" .") or "attachment"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name


def check_attachments(files: Sequence[InboundAttachment]) -> None:
    limit = settings.FRONTDESK_MAX_ATTACHMENT_BYTES
    if len(files) > settings.FRONTDESK_MAX_ATTACHMENTS:
        raise Invalid(
            _("At most %(n)d attachments per message.") % {"n": settings.FRONTDESK_MAX_ATTACHMENTS},
            code="too_many_attachments",
            fields={"attachments": [_("Too many attachments.")]},
        )
    for f in files:
        if len(f.data) > limit:
            raise Invalid(
                _("%(name)s is larger than the limit of %(mb).1f MB.")
                % {"name": safe_filename(f.filename), "mb": limit / 1024 / 1024},
                code="attachment_too_large",
                fields={"attachments": [_("File too large.")]},
            )


def store_attachments(message: Message, files: Sequence[InboundAttachment]) -> list[Attachment]:
    stored = []
    for f in files:
        content_type = (f.content_type or "").split(";")[0].strip().lower()
        if not content_type or "/" not in content_type:
            content_type = mimetypes.guess_type(f.filename)[0] or "application/octet-stream"
        attachment = Attachment(
            tenant_id=message.tenant_id,
            message=message,
            token=secrets.token_urlsafe(24),
            filename=safe_filename(f.filename),
            content_type=content_type[:150],
            size=len(f.data),
            content_id=f.content_id[:300],
        )
        attachment.file.save(attachment.token, ContentFile(f.data), save=False)
        attachment.save()
        stored.append(attachment)
    return stored
