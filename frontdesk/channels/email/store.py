"""Storing received mail: the one path of the IMAP fetcher, the SMTP/LMTP receiver and ingest-eml.

The raw message is committed (RawInbound) together with the task that processes it, in one
transaction: once a transport says "got it" (an SMTP 250, an IMAP UID marked as done), the message
is in the database and will be processed even if the process dies the next moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import transaction

from frontdesk.channels.base import RawPayload
from frontdesk.desk.actions.inbound import store_raw
from frontdesk.desk.models import Channel, Message, RawInbound

from .inbound import raw_dedupe_key
from .parse import message_id_of

CONTENT_TYPE = "message/rfc822"


def header_message_id(raw: bytes) -> str:
    """The Message-ID ("<id@host>") of a raw message or of its header block alone; "" if none."""
    return message_id_of(raw)


def dedupe_key(raw: bytes) -> str:
    """The message's identity for deduplication, as the parser makes it: its Message-ID, else a
    hash of its bytes."""
    return raw_dedupe_key(raw)


def stored_keys(channel: Channel, keys: Iterable[str]) -> set[str]:
    """Those of `keys` the channel has stored already, as a raw message or as a message."""
    wanted = sorted({k for k in keys if k})
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            RawInbound.objects.filter(channel=channel, dedupe_key__in=chunk).values_list(
                "dedupe_key", flat=True
            )
        )
        found.update(
            # The excluded empty id is the unique index's condition: stated, SQLite uses the index.
            Message.objects.filter(channel=channel, provider_id__in=chunk)
            .exclude(provider_id="")
            .values_list("provider_id", flat=True)
        )
    return found


def store_message(
    channel: Channel,
    raw: bytes,
    *,
    key: str,
    headers: dict[str, str],
    remote_addr: str = "",
    enqueue: bool = True,
    also: Callable[[], object] | None = None,
) -> RawInbound:
    """Commit one received message, and (with `enqueue`) the task that processes it.

    `also` runs inside the same transaction (the IMAP fetcher moves its UID mark there, so the
    mark and the message commit together). Without `enqueue` the caller processes the row itself;
    if it dies first, the sweeper (sweep_raw_inbound) processes it.
    """
    from frontdesk.desk.worker.tasks import process_raw_inbound

    payload = RawPayload(body=raw, content_type=CONTENT_TYPE, headers=headers, remote_addr=remote_addr)
    with transaction.atomic():
        stored = store_raw(channel, payload, dedupe_key=key)
        if enqueue:
            process_raw_inbound.enqueue(stored.pk)
        if also is not None:
            also()
    return stored
