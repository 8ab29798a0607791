"""The operator's commands: `frontdesk createtenant`, `createmember`, `worker --batch`."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from frontdesk.desk.actions.conversations import do_reply
from frontdesk.desk.models import DeliveryState, Membership, Role, Tenant
from tests.factories import receive

pytestmark = pytest.mark.django_db


def test_createtenant_makes_a_shop_with_its_owner(capsys):
    call_command(
        "createtenant",
        "Sklep Testowy",
        "--owner-email",
        "Owner@Shop.example",
        "--password",
        "a-long-password-1",
    )

    tenant = Tenant.objects.get(name="Sklep Testowy")
    owner = Membership.objects.get(tenant=tenant)
    assert (tenant.slug, tenant.languages, tenant.time_zone) == (
        "sklep-testowy",
        ["pl", "en"],
        "Europe/Warsaw",
    )
    assert (owner.user.email, owner.role) == ("owner@shop.example", Role.OWNER)
    assert owner.user.check_password("a-long-password-1")
    assert "/t/sklep-testowy/" in capsys.readouterr().out


def test_createtenant_refuses_an_unknown_time_zone():
    with pytest.raises(CommandError, match="time_zone"):
        call_command(
            "createtenant",
            "Shop",
            "--owner-email",
            "o@shop.example",
            "--password",
            "x" * 12,
            "--time-zone",
            "Mars/Olympus",
        )
    assert not Tenant.objects.exists()


def test_createmember_adds_a_person_with_a_role(tenant):
    call_command(
        "createmember", tenant.slug, "kasia@rowery.example", "--role", "supervisor", "--password", "p" * 12
    )

    member = Membership.objects.get(tenant=tenant, user__email="kasia@rowery.example")
    assert member.role == Role.SUPERVISOR


def test_createmember_names_an_unknown_shop():
    with pytest.raises(CommandError, match="no-such-shop"):
        call_command("createmember", "no-such-shop", "kasia@rowery.example", "--password", "p" * 12)


@pytest.mark.django_db(transaction=True)
def test_worker_batch_runs_the_tasks_that_are_due(api_channel, agent, capsys):
    conversation = receive(api_channel, "Hello", external_id="c-1")
    message = do_reply(agent, conversation, "Hi!")  # no webhook URL: fails for good when sent

    call_command("worker", "--batch")

    message.refresh_from_db()
    assert message.delivery_state == DeliveryState.FAILED
    assert "Ran 1 task" in capsys.readouterr().out


def test_the_frontdesk_command_without_arguments_lists_the_commands():
    result = subprocess.run(
        [sys.executable, "-m", "frontdesk"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "frontdesk serve" in result.stdout and "frontdesk worker" in result.stdout
