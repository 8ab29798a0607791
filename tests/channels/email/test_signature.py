"""Agents' email signatures: each edits their own per shop on the profile, an admin can set
them in the member settings, and the next email reply carries it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from frontdesk.channels.base import RawPayload
from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.actions.inbound import receive_raw
from frontdesk.desk.models import DeliveryState, Membership, Role
from frontdesk.desk.worker.runner import run_ready_tasks
from tests.factories import ChannelFactory, MembershipFactory

from .smtp_peer import SmtpPeer

pytestmark = pytest.mark.django_db(transaction=True)

FIRST = (
    b"From: Jan Kowalski <jan@example.org>\r\nTo: support@rowery.example\r\nSubject: Paczka\r\n"
    b"Message-ID: <first@example.org>\r\n\r\nGdzie jest paczka?\r\n"
)


def client_for(member: Membership) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


def save_signature(client: Client, slug: str, signature: str):  # type: ignore[no-untyped-def]
    return client.post("/account/", {"action": "signature", "shop": slug, f"sig-{slug}-signature": signature})


@pytest.fixture
def peer() -> Iterator[SmtpPeer]:
    server = SmtpPeer().start()
    yield server
    server.stop()


def test_an_agent_edits_their_signature_and_the_next_email_reply_carries_it(tenant, agent, peer):
    mailbox = ChannelFactory(
        tenant=tenant, kind="email", config=peer.config(), inbound_address="support@rowery.example"
    )
    _raw, [result] = receive_raw(mailbox, RawPayload(body=FIRST))
    me = client_for(agent)

    response = save_signature(me, tenant.slug, "Anna Agent\r\nSklep Rowerowy · https://rowery.example")
    assert response.status_code == 302
    assert response["Location"] == f"/account/#signature-{tenant.slug}"
    page = me.get("/account/").content.decode()
    assert "Your signature in Sklep Rowerowy is saved." in page
    assert "Anna Agent\nSklep Rowerowy · https://rowery.example</textarea>" in page

    message = do_reply(agent, result.conversation, "It ships today.")
    run_ready_tasks()

    message.refresh_from_db()
    assert message.delivery_state == DeliveryState.SENT
    mail = peer.received[0].message
    plain = mail.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert "It ships today.\n\n-- \nAnna Agent\nSklep Rowerowy · https://rowery.example" in plain
    html = mail.get_body(preferencelist=("html",)).get_content().replace("\r\n", "\n")
    assert 'Anna Agent<br>\nSklep Rowerowy · <a href="https://rowery.example">' in html


def test_each_shop_has_its_own_signature(tenant, other_tenant, agent):
    elsewhere = MembershipFactory(tenant=other_tenant, user=agent.user, role=Role.AGENT)
    me = client_for(agent)

    save_signature(me, other_tenant.slug, "Anna, Other Shop")

    agent.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (agent.signature, elsewhere.signature) == ("", "Anna, Other Shop")
    page = me.get("/account/").content.decode()
    assert 'id="signature-rowery"' in page and 'id="signature-other"' in page


def test_a_separator_typed_by_the_agent_is_not_doubled(tenant, agent):
    save_signature(client_for(agent), tenant.slug, "-- \nAnna")

    agent.refresh_from_db()
    assert agent.signature == "Anna"


def test_a_too_long_signature_is_refused_beside_the_field(tenant, agent):
    response = save_signature(client_for(agent), tenant.slug, "x" * 2001)

    assert response.status_code == 422
    assert f'id="id_sig-{tenant.slug}-signature_error"' in response.content.decode()
    agent.refresh_from_db()
    assert agent.signature == ""


def test_a_signature_for_a_shop_one_is_not_member_of_is_404(other_tenant, agent, outsider):
    response = save_signature(client_for(agent), other_tenant.slug, "Hijacked")

    assert response.status_code == 404
    outsider.refresh_from_db()
    assert outsider.signature == ""


def test_an_admin_sets_a_members_signature_in_the_settings(tenant, owner, agent):
    response = client_for(owner).post(
        f"/t/{tenant.slug}/settings/members/{agent.pk}/",
        {"action": "save", "role": "agent", "capacity": "0", "signature": "Anna z Rowerów"},
    )

    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.signature == "Anna z Rowerów"
    page = client_for(owner).get(f"/t/{tenant.slug}/settings/members/{agent.pk}/").content.decode()
    assert "Anna z Rowerów</textarea>" in page


def test_an_agent_cannot_set_another_members_signature(tenant, owner, agent):
    response = client_for(agent).post(
        f"/t/{tenant.slug}/settings/members/{owner.pk}/",
        {"action": "save", "role": "owner", "capacity": "0", "signature": "Hacked"},
    )

    assert response.status_code in (403, 404)
    owner.refresh_from_db()
    assert owner.signature == ""


def test_an_admin_of_another_shop_gets_404(tenant, agent, outsider):
    response = client_for(outsider).post(
        f"/t/{tenant.slug}/settings/members/{agent.pk}/",
        {"action": "save", "role": "agent", "capacity": "0", "signature": "Hacked"},
    )

    assert response.status_code == 404
    agent.refresh_from_db()
    assert agent.signature == ""
