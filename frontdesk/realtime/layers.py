"""The channel layer of the one-process mode."""

from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    """Channels' in-memory layer, with its sweep for expired messages and memberships done at most
    once a second instead of on every send and receive: the sweep walks every queue and every
    group membership, so with hundreds of open widgets it cost more than the messages themselves
    (a quarter of the event loop's time in the chat load test)."""

    _swept_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._swept_at < 1.0:
            return
        self._swept_at = now
        super()._clean_expired()
