"""Maps a channel kind to its adapter. Adapters are imported lazily, on first use."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from .base import ChannelAdapter

# kind → "module:Class". Adding a channel = adding its package and one line here (docs/channels.md).
ADAPTERS: dict[str, str] = {
    "api": "frontdesk.channels.api.adapter:ApiChannel",
    "form": "frontdesk.channels.form.adapter:FormChannel",
    "email": "frontdesk.channels.email.adapter:EmailChannel",
    "chat": "frontdesk.channels.chat.adapter:ChatChannel",
    "sms": "frontdesk.channels.sms.adapter:SmsChannel",
}


class UnknownChannelKind(LookupError):
    pass


@cache
def get_adapter(kind: str) -> ChannelAdapter:
    try:
        path = ADAPTERS[kind]
    except KeyError:
        raise UnknownChannelKind(kind) from None
    module, _, cls = path.partition(":")
    return getattr(import_module(module), cls)()


def kinds() -> list[str]:
    return list(ADAPTERS)
