"""On SQLite, the writing threads of one process queue on a lock for their turn (frontdesk/sqlite)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import connection, transaction

from frontdesk.desk.models import Tenant
from frontdesk.sqlite.base import write_turn
from tests.factories import TenantFactory

pytestmark = [
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "frontdesk.sqlite", reason="the SQLite backend's lock"
    ),
    pytest.mark.django_db(transaction=True),
]


def turn() -> threading.Lock:
    return write_turn(str(connection.settings_dict["NAME"]))


def in_thread(work: Callable[[], None]) -> threading.Thread:
    """Run `work` in a thread with a connection of its own, closed at the end like a server's."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_second_writer_waits_for_the_first_ones_commit_then_sees_its_rows() -> None:
    first_inside, first_may_commit, second_inside = threading.Event(), threading.Event(), threading.Event()
    seen_by_second: list[bool] = []

    def first() -> None:
        with transaction.atomic():
            TenantFactory(slug="first-writer")
            first_inside.set()
            assert first_may_commit.wait(10)

    def second() -> None:
        assert first_inside.wait(10)
        with transaction.atomic():
            second_inside.set()
            seen_by_second.append(Tenant.objects.filter(slug="first-writer").exists())
            TenantFactory(slug="second-writer")

    writers = [in_thread(first), in_thread(second)]
    assert first_inside.wait(10)
    assert turn().locked()
    # The second writer is queued while the first holds the turn…
    assert not second_inside.wait(0.3)
    first_may_commit.set()
    for writer in writers:
        writer.join(10)
    # …and begins after the first committed, seeing what it wrote.
    assert second_inside.is_set()
    assert seen_by_second == [True]
    assert set(Tenant.objects.values_list("slug", flat=True)) >= {"first-writer", "second-writer"}
    assert not turn().locked()


def test_a_transaction_that_fails_gives_up_its_turn() -> None:
    with pytest.raises(ValueError), transaction.atomic():
        TenantFactory(slug="rolled-back")
        assert turn().locked()
        raise ValueError("no")

    assert not turn().locked()
    assert not Tenant.objects.filter(slug="rolled-back").exists()
    in_thread(lambda: TenantFactory(slug="next-writer")).join(10)
    assert Tenant.objects.filter(slug="next-writer").exists()


def test_closing_the_connection_inside_a_transaction_gives_up_its_turn() -> None:
    def closes_midway() -> None:
        # What Django makes of leaving the block afterwards does not matter here: the turn does.
        with contextlib.suppress(Exception), transaction.atomic():
            TenantFactory(slug="never-committed")
            connection.close()

    in_thread(closes_midway).join(10)
    assert not turn().locked()
    with transaction.atomic():
        TenantFactory(slug="after-the-close")
    assert not Tenant.objects.filter(slug="never-committed").exists()
    assert Tenant.objects.filter(slug="after-the-close").exists()


def test_nested_blocks_hold_one_turn_until_the_outermost_commits() -> None:
    with transaction.atomic():
        with transaction.atomic():
            TenantFactory(slug="inner")
        assert turn().locked()
    assert not turn().locked()
    assert Tenant.objects.filter(slug="inner").exists()
