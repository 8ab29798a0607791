"""schemathesis drives the API from its own OpenAPI schema: every answer must be declared there,
match its schema and content type, never be a server error, and invalid input must be refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from frontdesk.desk.models import Role
from tests.api.conftest import token_for
from tests.factories import (
    ChannelFactory,
    CustomerFactory,
    MembershipFactory,
    TagFactory,
    TeamFactory,
    receive,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


@pytest.fixture
def _same_connection() -> Iterator[None]:
    """Requests run in the test's transaction, as with Django's test client: the WSGI handler must
    not close the connection between requests (Django's test client disconnects the same hooks)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db, _same_connection, tenant, owner, api_channel) -> str:  # type: ignore[no-untyped-def]
    """A token of a shop that has a bit of everything, so generated ids often hit real objects."""
    agent = MembershipFactory(tenant=tenant, role=Role.AGENT)
    team = TeamFactory(tenant=tenant, name="Returns")
    team.members.add(owner, agent)
    TagFactory(tenant=tenant, name="vip")
    ChannelFactory(tenant=tenant, kind="form", name="Contact form")
    for n in range(4):
        receive(api_channel, f"Question {n}", email=f"c{n}@example.org", external_id=f"cust-{n}")
    CustomerFactory.create_batch(2, tenant=tenant)
    return token_for(owner)


# Loaded from the app itself, as a client would; serving the schema needs no database.
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json",
    WSGIHandler(),
    config=schemathesis.Config.from_dict(
        {"generation": {"mode": "all", "max-examples": 6, "deterministic": True, "database": "none"}}
    ),
)


@schema.parametrize()
# Positive and negative cases, a few per operation: bounded and reproducible (no example database).
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_the_api_answers_as_its_schema_says(case, token):  # type: ignore[no-untyped-def]
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
