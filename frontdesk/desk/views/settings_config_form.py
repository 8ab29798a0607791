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

from ..actions.admin import MAX_SECRET_CHARS
from .settings_forms import language_name
from .settings_layouts import SECRET_HELP, SECRET_LABELS, layout_for

PREFIX = "config"
# Per-language fields are named <field>__<language code> ("reply_header__pl").
LANGUAGE_SEP = "__"


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


def _field_for(
    name: str,
    prop: dict[str, Any],
    required: bool,
    nullable: bool,
    choice_labels: dict[str, Any] | None = None,
) -> forms.Field:
    label = _label(name, prop.get("title"))
    help_text = _(prop["description"]) if prop.get("description") else ""
    kind = prop.get("type")
    common: dict[str, Any] = {"label": label, "help_text": help_text, "required": required and not nullable}
    if "default" in prop and prop["default"] is not None:
        common["initial"] = prop["default"]
    if "enum" in prop or "const" in prop:
        values = prop.get("enum") or [prop["const"]]
        choices = [(str(v), (choice_labels or {}).get(str(v), str(v))) for v in values]
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


def config_form_class(adapter: ChannelAdapter, languages: tuple[str, ...] = ()) -> type[forms.Form]:
    """The form class of `adapter`'s settings. `languages` are the codes edited for the layout's
    per-language fields (one text area each, named <field>__<code>)."""
    schema = adapter.Config.model_json_schema()
    required = set(schema.get("required", []))
    layout = layout_for(adapter.kind)
    per_language = set(layout.per_language) if layout else set()
    fields: dict[str, forms.Field] = {}
    for name, raw in schema.get("properties", {}).items():
        prop, nullable = _resolve(schema, raw)
        if name in per_language:
            fields.update(_per_language_fields(name, prop, languages))
            continue
        labels = layout.choice_labels.get(name) if layout else None
        fields[name] = _field_for(name, prop, name in required, nullable, labels)
        model_field = adapter.Config.model_fields.get(name)
        if fields[name].initial is None and model_field is not None and model_field.default_factory:
            # A default made by a factory (a list, a dict) is not in the JSON schema: show it too,
            # or saving the form unchanged would store an empty value instead of the default.
            fields[name].initial = model_field.get_default(call_default_factory=True)
        if layout and name in layout.placeholders:
            fields[name].widget.attrs["placeholder"] = layout.placeholders[name]
    # Which form fields hold one language's text of which setting: form_to_config gathers them.
    per_language_fields = {
        name: tuple(name.split(LANGUAGE_SEP, 1))
        for name in fields
        if LANGUAGE_SEP in name and name.split(LANGUAGE_SEP, 1)[0] in per_language
    }
    form_class = type(f"{type(adapter).__name__}ConfigForm", (forms.Form,), fields)
    form_class.per_language_fields = per_language_fields  # type: ignore[attr-defined]
    return form_class


def _per_language_fields(
    name: str, prop: dict[str, Any], languages: tuple[str, ...]
) -> dict[str, forms.Field]:
    label = _label(name, prop.get("title"))
    fields: dict[str, forms.Field] = {}
    for code in languages:
        fields[f"{name}{LANGUAGE_SEP}{code}"] = forms.CharField(
            label=f"{label} · {language_name(code)}",
            required=False,
            strip=False,
            widget=forms.Textarea(attrs={"rows": 3, "lang": code}),
        )
    return fields


def config_languages(
    adapter: ChannelAdapter, tenant_languages: list[str], config: dict[str, Any] | None
) -> tuple[str, ...]:
    """The languages the per-language fields are edited in: the shop's, then any other the
    channel has texts in (so a language the shop dropped is not lost on saving)."""
    layout = layout_for(adapter.kind)
    codes = list(tenant_languages) or ["en"]
    for name in layout.per_language if layout else ():
        value = (config or {}).get(name)
        if isinstance(value, dict):
            codes += [str(code) for code in value]
    return tuple(dict.fromkeys(codes))


def config_form(
    adapter: ChannelAdapter,
    data: Any = None,
    config: dict[str, Any] | None = None,
    *,
    languages: tuple[str, ...] = (),
) -> forms.Form:
    """The bound (data) or initial (config) settings form of `adapter`."""
    initial = dict(config) if config else None
    layout = layout_for(adapter.kind)
    if initial and layout:
        for name in layout.per_language:
            texts = initial.pop(name, None) or {}
            for code in languages:
                initial[f"{name}{LANGUAGE_SEP}{code}"] = (
                    texts.get(code, "") if isinstance(texts, dict) else ""
                )
    return config_form_class(adapter, languages)(data=data, initial=initial or None, prefix=PREFIX)


def form_to_config(form: forms.Form) -> dict[str, Any]:
    """The config dict for the adapter: empty optional numbers are left out (their default applies);
    per-language texts are gathered into one dict, without the empty ones."""
    config: dict[str, Any] = {}
    per_language: dict[str, tuple[str, str]] = getattr(form, "per_language_fields", {})
    for base, _code in per_language.values():
        config[base] = {}
    for name, value in form.cleaned_data.items():
        field = form.fields[name]
        if name in per_language:
            base, code = per_language[name]
            texts = config[base]
            if str(value or "").strip():
                texts[code] = str(value).replace("\r\n", "\n").strip("\n")
            continue
        if value is None and isinstance(field, forms.IntegerField | forms.FloatField | forms.JSONField):
            continue
        if value == "" and isinstance(field, forms.TypedChoiceField):
            continue
        config[name] = value
    return config


# --- Secrets an admin types in -----------------------------------------------------------------------

SECRET_PREFIX = "secret"  # noqa: S105 - a form prefix, not a password
CLEAR_SUFFIX = "__clear"


def secret_label(name: str) -> str:
    return str(SECRET_LABELS[name]) if name in SECRET_LABELS else _label(name, None)


def secrets_form(names: tuple[str, ...], data: Any = None) -> forms.Form:
    """Write-only inputs for the typed-in secrets `names`: a password input each (never filled
    in: what is stored is not sent back to the browser) and a "clear" box.

    An empty input leaves the stored secret as it is."""
    fields: dict[str, forms.Field] = {}
    for name in names:
        fields[name] = forms.CharField(
            label=secret_label(name),
            help_text=SECRET_HELP.get(name, ""),
            required=False,
            strip=False,
            max_length=MAX_SECRET_CHARS,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        )
        fields[f"{name}{CLEAR_SUFFIX}"] = forms.BooleanField(label=_("Clear"), required=False)
    return type("SecretsForm", (forms.Form,), fields)(data=data, prefix=SECRET_PREFIX)


def secret_changes(form: forms.Form, names: tuple[str, ...]) -> dict[str, str | None]:
    """What to change, for do_set_channel_secrets: typed values, and None for those to clear."""
    changes: dict[str, str | None] = {}
    for name in names:
        value = form.cleaned_data.get(name) or ""
        if value:
            changes[name] = value
        elif form.cleaned_data.get(f"{name}{CLEAR_SUFFIX}"):
            changes[name] = None
    return changes


def form_sections(
    adapter: ChannelAdapter,
    cfg_form: forms.Form,
    secrets: forms.Form | None,
    stored_secrets: set[str],
) -> list[dict[str, Any]]:
    """The settings grouped as the kind's layout says; fields it does not name go last.

    Each section: key, title, help, check (a connection test to offer) and items, each either
    {"field": BoundField} or a secret {"secret": BoundField, "clear": BoundField, "is_set": bool}."""
    layout = layout_for(adapter.kind)
    secret_names = [
        n for n in (secrets.fields if secrets is not None else {}) if not n.endswith(CLEAR_SUFFIX)
    ]
    placed: set[str] = set()

    def items(names: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for name in names:
            if secrets is not None and name in secret_names:
                placed.add(name)
                found.append(
                    {
                        "secret": secrets[name],
                        "clear": secrets[f"{name}{CLEAR_SUFFIX}"],
                        "is_set": name in stored_secrets,
                    }
                )
                continue
            matching = [n for n in cfg_form.fields if n == name or n.startswith(f"{name}{LANGUAGE_SEP}")]
            for field_name in matching:
                placed.add(field_name)
                found.append({"field": cfg_form[field_name]})
        return found

    sections: list[dict[str, Any]] = []
    for section in layout.sections if layout else ():
        found = items(section.fields)
        if found:
            sections.append(
                {
                    "key": section.key,
                    "title": section.title,
                    "help": section.help,
                    "check": section.check,
                    "items": found,
                }
            )
    rest_fields = [n for n in cfg_form.fields if n not in placed]
    rest = items(rest_fields)
    if rest:
        sections.append(
            {
                "key": "settings",
                "title": _("Other settings") if sections else _("Channel settings"),
                "help": "",
                "check": "",
                "items": rest,
            }
        )
    rest_secrets = items([n for n in secret_names if n not in placed])
    if rest_secrets:
        sections.append(
            {
                "key": "secrets",
                "title": _("Passwords and keys"),
                "help": "",
                "check": "",
                "items": rest_secrets,
            }
        )
    return sections


def presets_of(adapter: ChannelAdapter) -> list[dict[str, Any]]:
    layout = layout_for(adapter.kind)
    return [
        {"key": p.key, "label": p.label, "help": p.help, "json": p.as_json()}
        for p in (layout.presets if layout else ())
    ]
