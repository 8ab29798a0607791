"""Cursor pagination: every list walks page by page with no duplicates, no gaps, no OFFSET."""

from __future__ import annotations

import base64
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontdesk.desk.actions.conversations import do_add_note
from frontdesk.desk.models import Conversation
from tests.api.conftest import error_of
from tests.factories import (
    ChannelFactory,
    CustomerFactory,
    MembershipFactory,
    TagFactory,
    TeamFactory,
    receive,
)


@pytest.fixture
def shop(tenant, owner, api_channel):  # type: ignore[no-untyped-def]
    """Seven of everything."""
    for n in range(7):
        receive(api_channel, f"Question {n}", email=f"c{n}@example.org", external_id=f"cust-{n}")
        TeamFactory(tenant=tenant, name=f"Team {n % 3} {n}")
        TagFactory(tenant=tenant, name=f"tag {7 - n}")
        MembershipFactory(tenant=tenant)
        ChannelFactory(tenant=tenant, kind="form", name=f"Form {n}")
    CustomerFactory.create_batch(3, tenant=tenant)
    return tenant


LISTS = [
    ("/conversations", "number", {}),
    ("/conversations", "number", {"sort": "-number"}),
    ("/conversations", "number", {"sort": "updated_at"}),
    ("/customers", "id", {}),
    ("/customers", "id", {"sort": "updated_at"}),
    ("/teams", "id", {}),
    ("/tags", "id", {}),
    ("/members", "id", {}),
    ("/channels", "id", {}),
]


@pytest.mark.parametrize(("path", "key", "params"), LISTS)
def test_walking_every_page_gives_each_row_once_in_order(owner_api, shop, path, key, params):
    everything = [row[key] for row in owner_api.get(path, {**params, "limit": 100}).json()["items"]]
    assert len(everything) >= 7
    for limit in (1, 2, 3):
        walked = [row[key] for row in owner_api.walk(path, {**params, "limit": limit})]
        assert walked == everything


def test_the_thread_walks_page_by_page(owner_api, owner, api_channel):
    conversation = receive(api_channel, "First", external_id="cust-1")
    for n in range(6):
        do_add_note(owner, conversation, f"note {n}")
    walked = owner_api.walk(f"/conversations/{conversation.number}/messages", {"limit": 2})
    assert [m["text"] for m in walked] == ["First"] + [f"note {n}" for n in range(6)]
    newest = owner_api.walk(
        f"/conversations/{conversation.number}/messages", {"limit": 4, "sort": "-created_at"}
    )
    assert [m["text"] for m in newest][:2] == ["note 5", "note 4"]


def test_rows_with_the_same_sort_value_are_neither_lost_nor_repeated(owner_api, shop):
    Conversation.objects.filter(tenant=shop).update(last_message_at=timezone.now())
    walked = [c["number"] for c in owner_api.walk("/conversations", {"limit": 2})]
    assert sorted(walked) == list(range(1, 8))
    assert walked == sorted(walked, reverse=True)


def test_rows_added_while_walking_do_not_shift_later_pages(owner_api, shop, api_channel):
    first = owner_api.get("/conversations", {"limit": 3}).json()
    before = [c["number"] for c in owner_api.get("/conversations", {"limit": 100}).json()["items"]]
    for n in range(3):
        receive(api_channel, f"New {n}", email=f"new{n}@example.org", external_id=f"new-{n}")
    rest = owner_api.walk("/conversations", {"limit": 3, "cursor": first["next_cursor"]})
    walked = [c["number"] for c in first["items"]] + [c["number"] for c in rest]
    assert walked == before


def test_the_last_page_has_no_next_cursor(owner_api, shop):
    page = owner_api.get("/tags", {"limit": 7}).json()
    assert len(page["items"]) == 7
    assert page["next_cursor"] is None


def test_pages_are_read_without_offset(owner_api, shop):
    cursor = owner_api.get("/conversations", {"limit": 2}).json()["next_cursor"]
    with CaptureQueriesContext(connection) as queries:
        owner_api.get("/conversations", {"limit": 2, "cursor": cursor})
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)


def _cursor(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "%%%",
        _cursor(["a", "list"]),
        _cursor({"o": "-last_message_at,-id", "v": ["yesterday", 1]}),
        _cursor({"o": "-last_message_at,-id", "v": [None, 1]}),
        _cursor({"o": "-last_message_at,-id", "v": ["2025-01-01T00:00:00+00:00"]}),
        _cursor({"o": "name,id", "v": ["vip", 1]}),
    ],
)
def test_a_broken_or_foreign_cursor_is_422(owner_api, shop, cursor):
    response = owner_api.get("/conversations", {"cursor": cursor})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_cursor"
    assert list(error["fields"]) == ["cursor"]


def test_a_cursor_of_another_sort_order_is_422(owner_api, shop):
    cursor = owner_api.get("/conversations", {"limit": 2}).json()["next_cursor"]
    assert owner_api.get("/conversations", {"cursor": cursor, "sort": "-number"}).status_code == 422


@pytest.mark.parametrize("limit", [0, 101, -1, "ten"])
def test_limit_must_be_1_to_100(owner_api, limit):
    response = owner_api.get("/tags", {"limit": limit})
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == ["limit"]


def test_the_default_page_has_25_rows(owner_api, tenant):
    TagFactory.create_batch(30, tenant=tenant)
    page = owner_api.get("/tags").json()
    assert len(page["items"]) == 25
    assert page["next_cursor"]
