"""Input no form of ours sends — huge numbers, garbage, wrong types — is a precise 4xx, never a 500."""

from __future__ import annotations

import datetime as dt

import pytest

from frontdesk.desk.views.workspace import encode_cursor
from tests.desk.views.conftest import HTMX

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"
NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("method", "url", "data", "status"),
    [
        ("get", f"/t/rowery/c/{HUGE}/", None, 404),
        ("post", "/t/rowery/c/1/merge/", {"target": HUGE}, 422),
        ("post", "/t/rowery/c/1/merge/", {"target": "#abc"}, 422),
        ("post", "/t/rowery/c/1/tags/", {"tags": [HUGE]}, 422),
        ("post", "/t/rowery/c/1/tags/", {"tags": ["x"]}, 422),
        ("post", "/t/rowery/c/1/assign/", {"assignee": HUGE}, 422),
        ("post", "/t/rowery/c/1/assign/", {"team": "x"}, 422),
        ("post", "/t/rowery/c/1/assign/", {}, 422),
        ("post", "/t/rowery/c/1/reply-channel/", {"channel": HUGE}, 422),
        ("post", "/t/rowery/c/1/reply/", {"text": "Hi", "channel": "x"}, 422),
        ("post", "/t/rowery/c/1/reply/", {"text": "Hi", "status": "sleeping"}, 422),
        ("post", "/t/rowery/c/1/snooze/", {"preset": "custom", "until": "2024-13-45T99:99"}, 422),
        ("post", "/t/rowery/c/1/snooze/", {}, 422),
        ("post", f"/t/rowery/c/1/messages/{HUGE}/retry/", {}, 404),
        ("get", f"/t/rowery/c/1/messages/{HUGE}/html/", None, 404),
        ("get", "/t/rowery/", {"view": "all", "channel": HUGE}, 400),
        ("get", "/t/rowery/", {"view": "all", "assignee": "-1"}, 400),
        ("get", "/t/rowery/", {"view": "all", "tag": "1.5"}, 400),
        ("get", "/t/rowery/", {"view": "all", "cursor": "WzEsMl0"}, 400),
        ("get", "/t/rowery/inbox/list/", {"sort": "priority", "cursor": "WyJ4IiwieSIsInoiXQ"}, 400),
        ("get", "/t/rowery/", {"view": "all", "cursor": encode_cursor([NOW, 10**20])}, 200),
        ("get", "/t/rowery/", {"sort": "priority", "cursor": encode_cursor([10**20, NOW, 10**20])}, 200),
        ("get", "/t/rowery/customers/", {"cursor": encode_cursor([10**20])}, 200),
        ("get", f"/t/rowery/customers/{HUGE}/", None, 404),
        ("get", "/t/rowery/customers/", {"q": "#" + HUGE}, 200),
        ("get", "/t/rowery/customers/", {"q": "x" * 5000}, 200),
        ("post", "/t/rowery/customers/1/merge/", {"other": "#" + HUGE}, 422),
        ("post", "/t/rowery/customers/1/update/", {"attr_key": ["a", "b"], "attr_value": ["1"]}, 422),
        ("post", "/t/rowery/customers/1/update/", {"preferred_reply_channel": "x"}, 422),
        ("get", "/t/rowery/attachments/" + "x" * 500 + "/", None, 404),
    ],
)
def test_garbage_gets_a_clear_answer(agent_client, conversation, method, url, data, status):
    url = url.replace("/customers/1/", f"/customers/{conversation.customer_id}/")
    response = agent_client.get(url, data) if method == "get" else agent_client.post(url, data, **HTMX)

    assert response.status_code == status
