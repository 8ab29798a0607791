"""The agent workspace under /t/<slug>/: inbox, conversations, customers, visitors on the site,
files, availability."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import availability, callbacks, conversation, customers, files, inbox, queue, visitors

urlpatterns: list[URLPattern] = [
    path("", inbox.inbox, name="inbox"),
    path("inbox/list/", inbox.inbox_list, name="inbox_list"),
    path("queue/", queue.queue, name="queue"),
    path("queue/next/", queue.get_next, name="queue_next"),
    # Conversations
    path("c/<int:number>/", conversation.conversation, name="conversation"),
    path("c/<int:number>/regions/", conversation.regions, name="conversation_regions"),
    path("c/<int:number>/timeline/", conversation.timeline_fragment, name="conversation_timeline"),
    path("c/<int:number>/reply/", conversation.reply, name="conversation_reply"),
    path("c/<int:number>/note/", conversation.note, name="conversation_note"),
    path("c/<int:number>/assign/", conversation.assign, name="conversation_assign"),
    path("c/<int:number>/status/", conversation.set_status, name="conversation_status"),
    path("c/<int:number>/priority/", conversation.set_priority, name="conversation_priority"),
    path("c/<int:number>/tags/", conversation.set_tags, name="conversation_tags"),
    path("c/<int:number>/snooze/", conversation.snooze, name="conversation_snooze"),
    path("c/<int:number>/merge/", conversation.merge, name="conversation_merge"),
    path("c/<int:number>/reply-channel/", conversation.set_reply_channel, name="conversation_reply_channel"),
    path("c/<int:number>/messages/<int:message_id>/retry/", conversation.retry, name="message_retry"),
    path("c/<int:number>/messages/<int:message_id>/html/", conversation.message_html, name="message_html"),
    # Customers
    path("customers/", customers.customers, name="customers"),
    path("customers/<int:customer_id>/", customers.customer, name="customer"),
    path("customers/<int:customer_id>/update/", customers.update, name="customer_update"),
    path("customers/<int:customer_id>/identities/", customers.add_identity, name="customer_identity_add"),
    path(
        "customers/<int:customer_id>/identities/<int:identity_id>/remove/",
        customers.remove_identity,
        name="customer_identity_remove",
    ),
    path("customers/<int:customer_id>/merge/", customers.merge, name="customer_merge"),
    # Live chat: visitors on the shop's site
    path("visitors/", visitors.visitors, name="visitors"),
    path("visitors/<str:public_id>/start/", visitors.start_chat, name="visitor_start_chat"),
    # Files and the member's own state
    path("attachments/<str:token>/", files.attachment, name="attachment"),
    path("me/availability/", availability.availability, name="availability"),
    path("me/chats/", visitors.my_chats, name="my_chats"),
    # Callbacks customers asked for
    path("callbacks/", callbacks.callbacks, name="callbacks"),
    path("callbacks/<int:callback_id>/log/", callbacks.log_call, name="callback_log"),
    path("callbacks/<int:callback_id>/cancel/", callbacks.cancel, name="callback_cancel"),
]
