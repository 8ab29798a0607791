"""The callbacks page: due calls before scheduled ones, a form per call to log how it went, and
nothing of it for another shop."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from frontdesk.desk.models import Callback, CallbackAttempt, CallbackState, Conversation
from tests.desk.views.conftest import text_of

pytestmark = pytest.mark.django_db


def callback_for(conversation: Conversation, phone: str, state: str, starts_in: dt.timedelta) -> Callback:
    start = timezone.now() + starts_in
    return Callback.objects.create(
        tenant_id=conversation.tenant_id,
        conversation=conversation,
        phone=phone,
        window_start=start,
        window_end=start + dt.timedelta(hours=2),
        due_at=start,
        state=state,
    )


def test_due_calls_are_listed_before_scheduled_ones(agent_client, conversation):
    conversation.customer.time_zone = "America/New_York"
    conversation.customer.save(update_fields=["time_zone"])
    callback_for(conversation, "+48600000002", CallbackState.SCHEDULED, dt.timedelta(hours=1))
    callback_for(conversation, "+48600000001", CallbackState.DUE, dt.timedelta(minutes=-10))
    callback_for(conversation, "+48600000003", CallbackState.DONE, dt.timedelta(minutes=-30))

    response = agent_client.get("/t/rowery/callbacks/")

    assert response.status_code == 200
    page = text_of(response)
    assert page.index("+48600000001") < page.index("+48600000002")
    assert "+48600000003" not in page
    assert 'href="tel:+48600000001"' in response.content.decode()
    assert f'href="/t/rowery/c/{conversation.number}/"' in response.content.decode()
    assert "Jan Kowalski" in page
    assert "(Europe/Warsaw)" in page and "Customer's time:" in page and "(America/New_York)" in page
    assert 'data-testid="nav-callbacks"' in response.content.decode()


def test_an_agent_logs_a_reached_call_through_the_form(agent_client, conversation):
    callback = callback_for(conversation, "+48600000001", CallbackState.DUE, dt.timedelta(minutes=-10))

    response = agent_client.post(
        f"/t/rowery/callbacks/{callback.pk}/log/", {"outcome": "reached", "note": "All sorted."}
    )

    assert response.status_code == 302
    callback.refresh_from_db()
    assert (callback.state, callback.attempts) == (CallbackState.DONE, 1)
    assert CallbackAttempt.objects.get().note == "All sorted."
    assert "+48600000001" not in text_of(agent_client.get(response["Location"]))


def test_an_unknown_outcome_is_shown_at_the_callbacks_form(agent_client, conversation):
    callback = callback_for(conversation, "+48600000001", CallbackState.DUE, dt.timedelta(minutes=-10))

    response = agent_client.post(f"/t/rowery/callbacks/{callback.pk}/log/", {"outcome": "maybe"})

    assert response.status_code == 422
    assert "Choose how the call went." in text_of(response)
    assert not CallbackAttempt.objects.exists()


def test_an_agent_cancels_a_callback(agent_client, conversation):
    callback = callback_for(conversation, "+48600000002", CallbackState.SCHEDULED, dt.timedelta(hours=1))

    assert agent_client.post(f"/t/rowery/callbacks/{callback.pk}/cancel/").status_code == 302

    callback.refresh_from_db()
    assert callback.state == CallbackState.CANCELLED


@pytest.mark.parametrize("action", ["log", "cancel"])
def test_another_shop_gets_404_for_a_callback(outsider_client, conversation, action):
    callback = callback_for(conversation, "+48600000001", CallbackState.DUE, dt.timedelta(minutes=-10))

    assert outsider_client.get("/t/rowery/callbacks/").status_code == 404
    response = outsider_client.post(f"/t/other/callbacks/{callback.pk}/{action}/", {"outcome": "reached"})

    assert response.status_code == 404
    callback.refresh_from_db()
    assert (callback.state, callback.attempts) == (CallbackState.DUE, 0)


def test_a_call_to_try_again_later_waits_between_due_and_scheduled(agent_client, conversation):
    callback_for(conversation, "+48600000002", CallbackState.SCHEDULED, dt.timedelta(hours=1))
    retry = callback_for(conversation, "+48600000004", CallbackState.DUE, dt.timedelta(minutes=-10))
    Callback.objects.filter(pk=retry.pk).update(next_attempt_at=timezone.now() + dt.timedelta(minutes=20))
    callback_for(conversation, "+48600000001", CallbackState.DUE, dt.timedelta(minutes=-5))

    page = text_of(agent_client.get("/t/rowery/callbacks/"))

    assert page.index("+48600000001") < page.index("+48600000004") < page.index("+48600000002")
    assert "Try again at" in page
