"""Forms of the settings pages. They parse and render; the rules live in desk.actions.admin."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from ..actions.admin import SUPPORTED_LANGUAGES
from ..lib.countries import country_choices
from ..models import Membership, Role

# Canonical zone names live under these areas; the rest of available_timezones() are old aliases
# ("Poland", "US/Eastern") kept by tzdata for compatibility, which would only clutter the list.
_TZ_AREAS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


@cache
def _zones_by_area() -> tuple[tuple[str, tuple[str, ...]], ...]:
    zones = zoneinfo.available_timezones()
    by_area = [(area, tuple(sorted(z for z in zones if z.startswith(area + "/")))) for area in _TZ_AREAS]
    return (*by_area, ("UTC", ("UTC",)))


def time_zone_choices(current: str = "") -> list[tuple[str, Any]]:
    """Zones grouped by area (an <optgroup> each), sorted; the current value is always offered."""
    groups: list[tuple[str, Any]] = [
        (area, [(z, z.replace("_", " ")) for z in zones]) for area, zones in _zones_by_area()
    ]
    known = {z for _area, zones in _zones_by_area() for z in zones}
    if current and current not in known:
        groups.insert(0, (str(_("Current")), [(current, current)]))
    return groups


def language_name(code: str) -> str:
    try:
        info = get_language_info(code)
    except KeyError:
        return code
    return (
        f"{info['name_translated']} ({info['name_local']})"
        if info["name_local"] != info["name_translated"]
        else str(info["name_translated"])
    )


def language_choices(first: list[str] | None = None) -> list[tuple[str, str]]:
    """Supported languages; `first` (the current ones, in their order) lead the list."""
    first = [c for c in first or [] if c in SUPPORTED_LANGUAGES]
    rest = sorted(
        (c for c in SUPPORTED_LANGUAGES if c not in first), key=lambda c: language_name(c).casefold()
    )
    return [(c, language_name(c)) for c in [*first, *rest]]


def set_choices(form: forms.BaseForm, name: str, choices: Any) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class GeneralForm(forms.Form):
    name = forms.CharField(
        label=_("Shop name"),
        max_length=200,
        help_text=_("Customers see it in acknowledgements and on the status page."),
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("Business hours, due times and reports use this time zone."),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages you answer in"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Conversations in these languages are routed to members who speak them."),
    )
    default_language = forms.ChoiceField(
        label=_("Default language"),
        help_text=_("Used when a customer's language is not known; it is always one of the languages above."),
    )
    country = forms.ChoiceField(
        label=_("Country"),
        help_text=_("Decides which public holidays close the shop's business hours."),
    )
    reopen_closed = forms.BooleanField(
        label=_("Reopen closed conversations"),
        required=False,
        help_text=_(
            "When a customer writes to a closed conversation: reopen it (on), or open a new "
            "conversation linked to the old one (off)."
        ),
    )

    def __init__(self, *args: Any, languages: list[str], time_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = language_choices(languages)
        set_choices(self, "languages", choices)
        set_choices(self, "default_language", choices)
        set_choices(self, "time_zone", time_zone_choices(time_zone))
        set_choices(self, "country", country_choices())

    def settings_data(self) -> dict[str, Any]:
        """What do_update_tenant takes: the default language first, then the others as ticked."""
        data = self.cleaned_data
        default = data["default_language"]
        languages = [default, *(c for c in data["languages"] if c != default)]
        return {
            "name": data["name"],
            "time_zone": data["time_zone"],
            "languages": languages,
            "country": data["country"],
            "reopen_closed": data["reopen_closed"],
        }


def _languages_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=_("Languages"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        choices=language_choices(),
        help_text=_("Conversations in these languages may be routed to this member."),
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=320)
    role = forms.ChoiceField(
        label=_("Role"), initial=Role.AGENT, help_text=_("What they may do in this shop.")
    )

    def __init__(self, *args: Any, roles: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "role", roles)


class MemberForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Role"),
        help_text=_(
            "Agents answer customers; supervisors also manage teams and tags; admins manage members, "
            "channels and settings; owners also make other owners."
        ),
    )
    capacity = forms.IntegerField(
        label=_("Capacity"),
        min_value=0,
        max_value=100,
        help_text=_("How many live conversations this member takes at once; 0 means no limit."),
    )
    languages = _languages_field()
    signature = forms.CharField(
        label=_("Email signature"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Added under this member's email replies, above the shop's footer. "
            "Members can also change it on their profile."
        ),
    )

    def __init__(self, *args: Any, roles: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "role", roles)
        set_choices(self, "languages", language_choices())


class MemberChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Membership) -> str:  # type: ignore[override]
        return f"{obj.user.display_name} ({obj.user.email})"


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What the team handles, for the people who assign conversations to it."),
    )
    members = MemberChoiceField(
        label=_("Members"),
        queryset=Membership.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args: Any, tenant_members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = tenant_members  # type: ignore[attr-defined]


class TagForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    color = forms.CharField(
        label=_("Colour"),
        max_length=7,
        initial="#6b7280",
        widget=forms.TextInput(attrs={"type": "color"}),
        help_text=_("Shown on the tag in the inbox."),
    )


class ChannelNameForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("For your team: shown in the inbox beside each message.")
    )


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What uses the token, e.g. “Shop backend”, so you know which one to revoke."),
    )
