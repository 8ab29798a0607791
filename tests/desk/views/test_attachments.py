"""Attachments download with safe headers, only for members of the shop."""

from __future__ import annotations

import pytest

from frontdesk.channels.base import InboundAttachment
from frontdesk.desk.models import Attachment
from tests.factories import ChannelFactory, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def attachment(api_channel) -> Attachment:  # type: ignore[no-untyped-def]
    receive(
        api_channel,
        "See the photo",
        attachments=[InboundAttachment('zdjęcie roweru "1".html', "text/html", b"<script>alert(1)</script>")],
        external_id="c1",
    )
    return Attachment.objects.get()


def test_a_member_downloads_it_as_an_attachment_with_safe_headers(agent_client, attachment):
    response = agent_client.get(f"/t/rowery/attachments/{attachment.token}/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''zdj%C4%99cie%20roweru%20%221%22.html" in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Content-Type"] == "text/html"


def test_an_unknown_token_is_404(agent_client, attachment):
    assert agent_client.get("/t/rowery/attachments/nope/").status_code == 404


def test_a_member_of_another_shop_gets_404(outsider_client, attachment):
    assert outsider_client.get(f"/t/rowery/attachments/{attachment.token}/").status_code == 404


def test_another_shops_file_is_404_even_under_ones_own_shop(outsider_client, attachment):
    assert outsider_client.get(f"/t/other/attachments/{attachment.token}/").status_code == 404


def test_a_file_missing_on_disk_is_404_not_500(agent_client, attachment):
    attachment.file.delete(save=False)

    assert agent_client.get(f"/t/rowery/attachments/{attachment.token}/").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, attachment):
    response = client.get(f"/t/rowery/attachments/{attachment.token}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_notes_attachments_are_downloadable_too(agent_client, agent, tenant):
    from frontdesk.desk.actions.conversations import do_add_note

    conversation = receive(ChannelFactory(tenant=tenant), "Hi", external_id="x")
    do_add_note(agent, conversation, "", files=[InboundAttachment("notes.txt", "text/plain", b"internal")])
    token = Attachment.objects.get().token

    assert agent_client.get(f"/t/rowery/attachments/{token}/").status_code == 200
