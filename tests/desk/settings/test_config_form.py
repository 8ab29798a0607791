"""The channel settings form generated from an adapter's pydantic Config model."""

from __future__ import annotations

import enum
from typing import Literal

import pydantic
from django import forms

from frontdesk.channels.base import ChannelAdapter
from frontdesk.desk.views.settings_config_form import config_form, form_to_config


class Mode(enum.Enum):
    FAST = "fast"
    SAFE = "safe"


class Config(pydantic.BaseModel):
    host: str = pydantic.Field(title="Server", description="The mail server's name.", max_length=100)
    port: int = pydantic.Field(993, ge=1, le=65535)
    use_tls: bool = True
    folders: list[str] = pydantic.Field(default_factory=lambda: ["INBOX"])
    mode: Mode = Mode.SAFE
    style: Literal["short", "long"] = "short"
    signature: str | None = None
    headers: dict[str, str] = pydantic.Field(default_factory=dict)


class Adapter(ChannelAdapter):
    kind = "test"
    label = "Test"
    Config = Config


def test_each_type_of_setting_gets_a_fitting_field():
    form = config_form(Adapter())
    fields = form.fields

    assert fields["host"].label == "Server"
    assert fields["host"].help_text == "The mail server's name."
    assert fields["host"].required
    assert isinstance(fields["port"], forms.IntegerField)
    assert (fields["port"].min_value, fields["port"].max_value, fields["port"].initial) == (1, 65535, 993)
    assert isinstance(fields["use_tls"], forms.BooleanField)
    assert isinstance(fields["folders"].widget, forms.Textarea)
    assert [v for v, _ in fields["mode"].choices] == ["fast", "safe"]  # type: ignore[attr-defined]
    assert [v for v, _ in fields["style"].choices] == ["short", "long"]  # type: ignore[attr-defined]
    assert not fields["signature"].required
    assert isinstance(fields["headers"], forms.JSONField)


def test_posted_values_become_a_config_the_model_accepts():
    form = config_form(
        Adapter(),
        data={
            "config-host": " imap.rowery.example ",
            "config-port": "",
            "config-folders": "INBOX\n\nArchive\n",
            "config-mode": "fast",
            "config-style": "long",
            "config-signature": "",
            "config-headers": '{"X-Shop": "rowery"}',
        },
    )

    assert form.is_valid(), form.errors
    config = form_to_config(form)
    assert config["host"] == "imap.rowery.example"
    assert "port" not in config  # empty: the model's default applies
    assert config["use_tls"] is False  # an unticked box
    assert config["folders"] == ["INBOX", "Archive"]
    validated = Adapter().validate_config(config)
    assert (
        validated["port"] == 993
        and validated["mode"] == "fast"
        and validated["headers"] == {"X-Shop": "rowery"}
    )


def test_a_stored_config_fills_the_form():
    form = config_form(Adapter(), config={"host": "mail.example", "folders": ["A", "B"], "port": 143})

    html = form.as_div()

    assert 'value="mail.example"' in html
    assert 'value="143"' in html
    assert "A\nB</textarea>" in html


def test_labels_are_made_readable_from_field_names():
    class Named(pydantic.BaseModel):
        webhook_url: str = ""
        api_key_id: str = ""

    class NamedAdapter(ChannelAdapter):
        kind = "named"
        label = "Named"
        Config = Named

    fields = config_form(NamedAdapter()).fields

    assert fields["webhook_url"].label == "Webhook URL"
    assert fields["api_key_id"].label == "API key ID"
