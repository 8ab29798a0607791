"""A page of this installation that shows a chat channel's widget, so a shop owner can try the chat
(and an agent can see what visitors see) before pasting the snippet into the shop's site."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from ..views import find_channel


def try_page(request: HttpRequest, public_id: str) -> HttpResponse:
    channel = find_channel(public_id, kind="chat")
    if channel is None:
        raise Http404
    return render(
        request,
        "channels/chat_try.html",
        {"shop": channel.tenant.name, "snippet_src": f"/chat/{channel.public_id}/widget.js"},
    )
