"""Bad requests get a precise 4xx in the one error shape; the schema declares every one of them."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from frontdesk.desk.actions.admin import do_revoke_api_token, do_update_member
from frontdesk.desk.models import ApiToken, Membership
from tests.api.conftest import Api, error_of, token_for
from tests.factories import MembershipFactory, receive


@pytest.fixture
def conversation(api_channel):  # type: ignore[no-untyped-def]
    return receive(api_channel, "Where is my parcel?", external_id="cust-1")


# --- Authentication --------------------------------------------------------------------------------


def test_a_request_without_a_token_gets_401_with_a_bearer_challenge(anonymous_api):
    response = anonymous_api.get("/conversations")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer fdk_nope_nope",
        "Bearer ",
        "Bearer " + "x" * 500,
        "Basic dXNlcjpwYXNz",
        "fdk_without_scheme",
    ],
)
def test_a_wrong_or_malformed_token_gets_401(client, owner, header):
    token_for(owner)  # a real token exists; these are not it
    response = client.get("/api/v1/conversations", headers={"Authorization": header})
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_a_token_with_a_right_prefix_but_wrong_secret_gets_401(client, owner):
    secret = token_for(owner)
    response = client.get("/api/v1/tags", headers={"Authorization": f"Bearer {secret[:-3]}abc"})
    assert response.status_code == 401


def test_a_revoked_token_stops_working(owner, owner_api):
    assert owner_api.get("/tags").status_code == 200
    do_revoke_api_token(owner, ApiToken.objects.get(member=owner))
    response = owner_api.get("/tags")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_the_token_of_a_deactivated_member_stops_working(tenant, owner, agent):
    admin = MembershipFactory(tenant=tenant, role="admin")
    api = Api(Client(), token_for(admin))
    assert api.get("/tags").status_code == 200
    do_update_member(owner, Membership.objects.get(pk=admin.pk), {"is_active": False})
    assert api.get("/tags").status_code == 401


def test_the_token_of_a_closed_shop_stops_working(tenant, owner_api):
    tenant.is_active = False
    tenant.save(update_fields=["is_active"])
    assert owner_api.get("/tags").status_code == 401


def test_the_schema_and_docs_need_no_token(anonymous_api):
    assert anonymous_api.get("/openapi.json").status_code == 200
    assert anonymous_api.client.get("/api/v1/docs").status_code == 200


# --- Bodies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ['{"status": "open"', "{'status': 'open'}", "status=open", "\xff\xfe"])
def test_malformed_json_gets_400_malformed_json(owner_api, conversation, body):
    response = owner_api.patch(f"/conversations/{conversation.number}", body.encode("latin-1"))
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "malformed_json"
    assert "JSON" in error["message"]


def test_malformed_json_says_where_it_broke(owner_api, conversation):
    response = owner_api.patch(f"/conversations/{conversation.number}", '{"status": }')
    assert "line 1 column 12" in error_of(response)["message"]


def test_unknown_fields_get_422_naming_them(owner_api, conversation):
    response = owner_api.patch(
        f"/conversations/{conversation.number}", {"status": "open", "stauts": "open", "colour": 1}
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "unknown_field"
    assert set(error["fields"]) == {"stauts", "colour"}
    assert "stauts" in error["message"]


def test_unknown_fields_in_nested_objects_are_named_with_their_path(owner_api, conversation):
    response = owner_api.post(
        f"/conversations/{conversation.number}/replies",
        {"text": "Hi", "attachments": [{"filename": "a.txt", "data": "aGk=", "size": 2}]},
    )
    assert response.status_code == 422
    assert error_of(response)["fields"] == {"attachments.0.size": ["Unknown field."]}


def test_a_body_that_is_not_an_object_gets_422(owner_api, conversation):
    response = owner_api.patch(f"/conversations/{conversation.number}", ["open"])
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"


def test_a_missing_body_gets_422_saying_it_is_required(owner_api):
    response = owner_api.post("/tags", "")
    assert response.status_code == 422
    assert error_of(response)["fields"] == {"body": ["This field is required."]}


def test_wrong_values_get_422_with_each_field_explained(owner_api, conversation):
    response = owner_api.patch(
        f"/conversations/{conversation.number}", {"status": "finished", "snoozed_until": "2030-01-01T10:00"}
    )
    assert response.status_code == 422
    fields = error_of(response)["fields"]
    assert set(fields) == {"status", "snoozed_until"}
    assert "new" in fields["status"][0]
    assert "time zone" in fields["snoozed_until"][0]


def test_bad_query_parameters_get_422(owner_api):
    response = owner_api.get("/conversations", {"limit": 0, "assignee": "someone"})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"limit", "assignee"}


def test_an_oversized_body_gets_413_before_it_is_read(owner_api, conversation, settings):
    settings.FRONTDESK_MAX_BODY_BYTES = 1000
    response = owner_api.post(f"/conversations/{conversation.number}/notes", {"text": "x" * 2000})
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "too_large"
    assert "1000" in error["message"]
    assert conversation.messages.count() == 1


def test_a_body_just_under_the_limit_is_read(owner_api, conversation, settings):
    settings.FRONTDESK_MAX_BODY_BYTES = 1000
    response = owner_api.post(f"/conversations/{conversation.number}/notes", {"text": "x" * 900})
    assert response.status_code == 201


def test_a_body_that_is_not_json_gets_415(owner_api):
    response = owner_api.post("/tags", "name=vip", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_json_with_a_charset_or_a_json_suffix_type_is_accepted(owner_api):
    assert (
        owner_api.post("/tags", {"name": "a"}, content_type="application/json; charset=utf-8").status_code
        == 201
    )
    assert (
        owner_api.post("/tags", {"name": "b"}, content_type="application/merge-patch+json").status_code == 201
    )


# --- Routing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/nothing-here",
        "/conversations/abc",
        "/conversations/-1",
        "/conversations/99999999999999999999",
        "/customers/9223372036854775808",
        "/tags/1%0A",
        "/v2/things",
    ],
)
def test_unknown_api_urls_get_a_json_404(owner_api, path):
    response = owner_api.get(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_method_not_allowed_gets_405_with_the_allowed_methods(owner_api, conversation):
    response = owner_api.put(f"/conversations/{conversation.number}", {"status": "open"})
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "PATCH"}


def test_the_api_index_points_to_the_schema_and_the_docs(anonymous_api):
    body = anonymous_api.get("/").json()
    assert body["openapi"].endswith("/api/v1/openapi.json")
    assert body["docs"].endswith("/api/v1/docs")


# --- Server errors --------------------------------------------------------------------------------


def test_an_unexpected_failure_is_a_logged_500_in_the_error_shape(
    owner_api, conversation, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("frontdesk.desk.api.conversations.do_set_priority", broken)
    with caplog.at_level(logging.ERROR, logger="frontdesk.api"):
        response = owner_api.patch(f"/conversations/{conversation.number}", {"priority": "high"})
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "server_error"
    assert "fire" not in error["message"]
    assert any("database on fire" in (r.exc_text or "") for r in caplog.records)


# --- The schema -----------------------------------------------------------------------------------


@pytest.fixture
def schema(anonymous_api):  # type: ignore[no-untyped-def]
    return anonymous_api.get("/openapi.json").json()


def test_the_schema_is_openapi_3_1_with_bearer_auth(schema):
    assert schema["openapi"].startswith("3.1")
    [scheme] = schema["components"]["securitySchemes"].values()
    assert scheme == {"type": "http", "scheme": "bearer"}


def test_every_operation_declares_its_errors_in_the_one_error_shape(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            label = f"{method.upper()} {path}"
            assert {"401", "500"} <= set(responses), label
            if method in ("post", "patch", "put"):
                assert {"400", "413", "415", "422"} <= set(responses), label
            if "{" in path:
                assert "404" in responses, label
            for status, response in responses.items():
                if int(status) >= 400:
                    schema_ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert schema_ref == "#/components/schemas/Error", label
                    assert response["description"] not in ("", "Unknown Status Code"), label


def test_every_operation_parameter_and_field_is_described(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            assert operation.get("summary") and operation.get("description"), label
            for parameter in operation.get("parameters", []):
                assert parameter.get("description"), f"{label} {parameter['name']}"
    for name, component in schema["components"]["schemas"].items():
        for field, definition in component.get("properties", {}).items():
            assert definition.get("description"), f"{name}.{field}"
    assert "fields" not in schema["components"]["schemas"]["ErrorDetail"].get("required", [])


def test_the_docs_are_served_without_any_cdn(anonymous_api):
    response = anonymous_api.client.get("/api/docs", follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert "https://" not in page and "http://" not in page
    settings_json = page.split('id="swagger-settings">')[1].split("</script>")[0]
    assert json.loads(settings_json)["url"] == "/api/v1/openapi.json"
    bundle = anonymous_api.client.get("/static/ninja/swagger-ui-bundle.js")
    assert bundle.status_code == 200


def test_errors_name_the_field_however_its_type_is_built(owner_api, conversation):
    patch = owner_api.patch(f"/conversations/{conversation.number}", {"assignee": "someone", "tags": ["a"]})
    assert set(error_of(patch)["fields"]) == {"assignee", "tags.0"}
    listing = owner_api.get("/conversations", {"status": "stuck", "updated_after": "yesterday"})
    fields = error_of(listing)["fields"]
    assert set(fields) == {"status.0", "updated_after"}
    assert "ISO 8601" in fields["updated_after"][0]
