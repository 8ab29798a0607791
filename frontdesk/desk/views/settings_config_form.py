"""A form for a channel adapter's settings, generated from its pydantic `Config` model.

The JSON schema of the model decides the fields: strings (a text area past 500 characters),
booleans, integers with their bounds, choices (enums and literals), lists of strings (one per
line). Anything else is edited as JSON. Labels are the fields' titles and help texts their
descriptions (`pydantic.Field(title=..., description=...)`), looked up in the translations.
The adapter's model stays the judge: the form only parses, then do_create_channel validates.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _

from frontdesk.channels.base import ChannelAdapter

PREFIX = "config"


def _resolve(schema: dict[str, Any], prop: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The property's own schema with $ref followed, and whether it may be null."""
    nullable = False
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        nullable = len(options) < len(prop["anyOf"])
        if len(options) == 1:
            prop = {**prop, **options[0]}
            prop.pop("anyOf", None)
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        prop = {**schema.get("$defs", {}).get(name, {}), **{k: v for k, v in prop.items() if k != "$ref"}}
    return prop, nullable


class LinesField(forms.CharField):
    """A list of strings, one per line."""

    widget = forms.Textarea

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [line.strip() for line in str(text).splitlines() if line.strip()]


# Written in capitals in labels made from field names ("webhook_url" → "Webhook URL").
_ACRONYMS = {"url", "urls", "api", "id", "ids", "smtp", "imap", "pop", "tls", "ssl", "sms", "http", "https"}


def _label(name: str, title: str | None) -> str:
    """The field's own title, or one made from its name (pydantic's automatic title is "Webhook Url")."""
    if title and title != name.replace("_", " ").title():
        return _(title)
    words = [w.upper() if w in _ACRONYMS else w for w in name.split("_")]
    label = " ".join(words)[:1].upper() + " ".join(words)[1:]
    # Translated too: a title that reads like the name ("title" → "Title") lands here.
    return _(label)


def _field_for(name: str, prop: dict[str, Any], required: bool, nullable: bool) -> forms.Field:
    label = _label(name, prop.get("title"))
    help_text = _(prop["description"]) if prop.get("description") else ""
    kind = prop.get("type")
    common: dict[str, Any] = {"label": label, "help_text": help_text, "required": required and not nullable}
    if "default" in prop and prop["default"] is not None:
        common["initial"] = prop["default"]
    if "enum" in prop or "const" in prop:
        values = prop.get("enum") or [prop["const"]]
        choices = [(str(v), str(v)) for v in values]
        # A choice always has a value (its default if nothing else) unless the model allows none.
        if nullable:
            choices.insert(0, ("", "—"))
        return forms.TypedChoiceField(
            choices=choices, coerce=lambda v: v, **{**common, "required": not nullable}
        )
    if kind == "boolean":
        return forms.BooleanField(**{**common, "required": False})
    if kind == "integer":
        return forms.IntegerField(
            min_value=prop.get("minimum"), max_value=prop.get("maximum"), **{**common, "required": False}
        )
    if kind == "number":
        return forms.FloatField(
            min_value=prop.get("minimum"), max_value=prop.get("maximum"), **{**common, "required": False}
        )
    if kind == "string":
        max_length = prop.get("maxLength")
        widget: forms.Widget = (
            forms.Textarea(attrs={"rows": 4}) if (max_length or 0) > 500 else forms.TextInput()
        )
        if prop.get("format") in ("uri", "url"):
            widget = forms.URLInput()
        elif prop.get("format") == "email":
            widget = forms.EmailInput()
        return forms.CharField(max_length=max_length, widget=widget, strip=True, **common)
    if kind == "array" and prop.get("items", {}).get("type") == "string":
        lines_help = _("One per line.")
        return LinesField(
            widget=forms.Textarea(attrs={"rows": 3}),
            **{**common, "required": False, "help_text": f"{help_text} {lines_help}".strip()},
        )
    json_help = _("In JSON.")
    return forms.JSONField(
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
        **{**common, "required": False, "help_text": f"{help_text} {json_help}".strip()},
    )


def config_form_class(adapter: ChannelAdapter) -> type[forms.Form]:
    schema = adapter.Config.model_json_schema()
    required = set(schema.get("required", []))
    fields: dict[str, forms.Field] = {}
    for name, raw in schema.get("properties", {}).items():
        prop, nullable = _resolve(schema, raw)
        fields[name] = _field_for(name, prop, name in required, nullable)
    form_class = type(f"{type(adapter).__name__}ConfigForm", (forms.Form,), fields)
    return form_class


def config_form(
    adapter: ChannelAdapter, data: Any = None, config: dict[str, Any] | None = None
) -> forms.Form:
    """The bound (data) or initial (config) settings form of `adapter`."""
    return config_form_class(adapter)(data=data, initial=config or None, prefix=PREFIX)


def form_to_config(form: forms.Form) -> dict[str, Any]:
    """The config dict for the adapter: empty optional numbers are left out (their default applies)."""
    config: dict[str, Any] = {}
    for name, value in form.cleaned_data.items():
        field = form.fields[name]
        if value is None and isinstance(field, forms.IntegerField | forms.FloatField | forms.JSONField):
            continue
        if value == "" and isinstance(field, forms.TypedChoiceField):
            continue
        config[name] = value
    return config
