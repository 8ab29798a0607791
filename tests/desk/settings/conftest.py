from __future__ import annotations

import pytest
from django.test import Client

from frontdesk.desk.models import Membership, Role
from tests.factories import MembershipFactory


@pytest.fixture
def admin(tenant):  # type: ignore[no-untyped-def]
    return MembershipFactory(
        tenant=tenant, role=Role.ADMIN, user__email="adam@rowery.example", user__name="Adam Admin"
    )


@pytest.fixture
def supervisor(tenant):  # type: ignore[no-untyped-def]
    return MembershipFactory(
        tenant=tenant, role=Role.SUPERVISOR, user__email="sara@rowery.example", user__name="Sara Supervisor"
    )


def client_for(member: Membership) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


@pytest.fixture
def as_owner(owner) -> Client:  # type: ignore[no-untyped-def]
    return client_for(owner)


@pytest.fixture
def as_admin(admin) -> Client:  # type: ignore[no-untyped-def]
    return client_for(admin)


@pytest.fixture
def as_supervisor(supervisor) -> Client:  # type: ignore[no-untyped-def]
    return client_for(supervisor)


@pytest.fixture
def as_agent(agent) -> Client:  # type: ignore[no-untyped-def]
    return client_for(agent)


@pytest.fixture
def as_outsider(outsider) -> Client:  # type: ignore[no-untyped-def]
    return client_for(outsider)
