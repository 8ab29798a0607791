"""English and Polish: the Polish catalogue is complete, and people who chose Polish get it everywhere."""

from __future__ import annotations

import ast
import datetime as dt
import gettext
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

from frontdesk.desk.models import Role
from frontdesk.desk.views.workspace import duration_words
from tests.factories import PASSWORD, ChannelFactory, MembershipFactory, receive

LOCALE = Path(__file__).resolve().parent.parent / "frontdesk" / "locale"
POLISH_PO = LOCALE / "pl" / "LC_MESSAGES" / "django.po"
POLISH_MO = LOCALE / "pl" / "LC_MESSAGES" / "django.mo"
POLISH_PLURALS = "nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);"


# --- The catalogue ------------------------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file (obsolete ones left out); enough of the format for our catalogues."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal entry
        if target is not None:
            entries.append(entry)
        entry = Entry()

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if target is not None and target[0] == "msgstr":
                finish()
                target = None
            if line.startswith("#,"):
                entry.flags |= {f.strip() for f in line[2:].split(",")}
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            assert target is not None, line
            text = ast.literal_eval(line)
        else:
            if keyword in ("msgctxt", "msgid") and target is not None and target[0] == "msgstr":
                finish()
            text = ast.literal_eval(rest)
        if line.startswith('"'):
            name, index = target  # type: ignore[misc]
        elif keyword.startswith("msgstr"):
            name, index = "msgstr", int(keyword[7:-1]) if "[" in keyword else 0
            entry.msgstr.append("")
        else:
            name, index = keyword, 0
            setattr(entry, name, "")
        if name == "msgstr":
            entry.msgstr[index] += text
        else:
            setattr(entry, name, getattr(entry, name) + text)
        target = (name, index)
    finish()
    return entries


@pytest.fixture(scope="module")
def polish() -> list[Entry]:
    return read_po(POLISH_PO)


def header(entries: list[Entry]) -> dict[str, str]:
    first = entries[0]
    assert first.msgid == ""
    return dict(line.split(": ", 1) for line in first.msgstr[0].splitlines() if ": " in line)


def test_the_polish_catalogue_has_the_three_polish_plural_forms(polish):
    assert header(polish)["Plural-Forms"] == POLISH_PLURALS
    assert all(len(e.msgstr) == 3 for e in polish if e.msgid_plural is not None)


def test_every_polish_entry_is_translated_and_none_is_fuzzy(polish):
    messages = polish[1:]
    assert len(messages) > 900
    assert [e.msgid for e in messages if "fuzzy" in e.flags] == []
    assert [e.msgid for e in messages if not all(s.strip() for s in e.msgstr)] == []


PYTHON_FORMAT = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sd]")
BRACE_FORMAT = re.compile(r"\{\w+\}")


def placeholders(entry: Entry, text: str) -> list[str]:
    found = []
    if "python-format" in entry.flags:
        found += PYTHON_FORMAT.findall(text)
    if "python-brace-format" in entry.flags or BRACE_FORMAT.search(entry.msgid):
        found += BRACE_FORMAT.findall(text)
    return sorted(found)


def test_every_translation_keeps_the_placeholders_of_its_original(polish):
    wrong = []
    for e in polish[1:]:
        for i, text in enumerate(e.msgstr):
            original = e.msgid if i == 0 or e.msgid_plural is None else e.msgid_plural
            # The singular form may say "1" in words; the plural forms must carry the number.
            if placeholders(e, text) != placeholders(e, original) and not (
                i == 0 and e.msgid_plural is not None and placeholders(e, e.msgid) == placeholders(e, text)
            ):
                wrong.append((e.msgid, text))
    assert wrong == []


def test_html_in_a_translation_is_the_html_of_its_original(polish):
    tags = re.compile(r"</?[a-z][a-z0-9]*(?:\s[^>]*)?>")
    assert [
        e.msgid for e in polish[1:] if any(tags.findall(s) != tags.findall(e.msgid) for s in e.msgstr)
    ] == []


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs the gettext tools")
def test_every_string_marked_for_translation_is_in_the_polish_catalogue(polish, tmp_path):
    """What `make messages` would extract today, from a copy of the sources, is all in the catalogue."""
    source = POLISH_PO.parents[3]
    copy = tmp_path / "frontdesk"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("static", "locale", "__pycache__"))
    (copy / "locale").mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "frontdesk.settings", "FRONTDESK_VAR_DIR": str(tmp_path)}
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "pl", "-v", "0"], cwd=copy, env=env, check=True
    )

    extracted = read_po(copy / "locale" / "pl" / "LC_MESSAGES" / "django.po")[1:]
    known = {(e.msgctxt, e.msgid) for e in polish}
    assert [e.msgid for e in extracted if (e.msgctxt, e.msgid) not in known] == []


def test_the_committed_compiled_catalogue_matches_the_po_file(polish):
    """`frontdesk compilemessages` was run after the last change: installing needs no gettext tools."""
    with POLISH_MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    stale = []
    for e in polish[1:]:
        key = f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt is not None else e.msgid
        if e.msgid_plural is None:
            if compiled._catalog.get(key) != e.msgstr[0]:  # type: ignore[attr-defined]
                stale.append(e.msgid)
        elif [compiled._catalog.get((key, i)) for i in range(3)] != e.msgstr:  # type: ignore[attr-defined]
            stale.append(e.msgid)
    assert stale == []


def test_polish_counts_take_the_right_plural_form():
    with translation.override("pl"):
        assert duration_words(dt.timedelta(days=31)) == "31 dni"
        assert [duration_words(dt.timedelta(days=30 * n)) for n in (2, 3, 5, 12, 22, 25)] == [
            "2 miesiące",
            "3 miesiące",
            "5 miesięcy",
            "12 miesięcy",
            "22 miesiące",
            "25 miesięcy",
        ]


# --- What people see ------------------------------------------------------------------------------------


def text(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.fixture
def polish_owner(db, tenant):  # type: ignore[no-untyped-def]
    return MembershipFactory(
        tenant=tenant,
        role=Role.OWNER,
        user__email="ola@rowery.example",
        user__name="Ola",
        user__language="pl",
    )


@pytest.fixture
def polish_client(polish_owner) -> Client:
    """Signed in through the login form, which applies the language the member chose."""
    client = Client()
    response = client.post("/login/", {"username": polish_owner.user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.mark.django_db
def test_a_member_who_chose_polish_gets_the_inbox_in_polish(polish_client, tenant, api_channel):
    receive(api_channel, "Gdzie jest moja paczka?")

    page = text(polish_client.get(f"/t/{tenant.slug}/"))

    assert "Widoki skrzynki" in page and "Wyloguj się" in page and "Nowa" in page
    assert "Inbox views" not in page and "Sign out" not in page


@pytest.mark.django_db
def test_the_strings_the_inbox_scripts_show_come_in_polish(polish_client, tenant):
    page = text(polish_client.get(f"/t/{tenant.slug}/"))

    strings = json.loads(
        re.search(r'<script id="workspace-strings"[^>]*>(.*?)</script>', page, re.S).group(1)
    )  # type: ignore[union-attr]
    assert strings["replying_one"] == "{names} odpowiada…"
    assert strings["close"] == "Zamknij"
    assert "Brak połączenia" in page


@pytest.mark.django_db
def test_a_member_who_chose_polish_gets_the_conversation_page_in_polish(polish_client, tenant, api_channel):
    conversation = receive(api_channel, "Gdzie jest moja paczka?")

    page = text(polish_client.get(f"/t/{tenant.slug}/c/{conversation.number}/"))

    assert "Notatka wewnętrzna" in page and "Przypisz do mnie" in page and "Odłóż" in page
    assert "Rozmowa rozpoczęta w kanale" in page
    assert "Internal note" not in page and "Assign to me" not in page and "Conversation started" not in page


@pytest.mark.django_db
def test_a_member_who_chose_polish_gets_the_settings_in_polish(polish_client, tenant):
    home = text(polish_client.get(f"/t/{tenant.slug}/settings/"))
    general = text(polish_client.get(f"/t/{tenant.slug}/settings/general/"))

    assert "Członkowie zespołu" in home and "Tokeny API" in home
    assert "API tokens" not in home
    # Country names are Debian's iso-codes translations.
    assert "Niemcy" in general and "Stany Zjednoczone" in general
    assert "Germany" not in general and "Strefa czasowa" in general


@pytest.mark.django_db
def test_the_channel_settings_form_is_labelled_in_polish(polish_client, tenant):
    page = text(polish_client.get(f"/t/{tenant.slug}/settings/channels/new/form/"))

    assert "Formularz kontaktowy" in page and "Pytaj o numer telefonu" in page and "Tytuł" in page
    assert "Ask for a phone number" not in page and "Title" not in page


@pytest.mark.django_db
def test_the_email_channel_settings_are_in_polish(polish_client, tenant):
    channel = ChannelFactory(
        tenant=tenant,
        kind="email",
        name="Obsługa",
        config={
            "address": "obsluga@rowery.example",
            "imap_enabled": True,
            "imap_host": "imap.rowery.example",
        },
        inbound_address="obsluga@rowery.example",
    )

    page = text(polish_client.get(f"/t/{tenant.slug}/settings/channels/{channel.pk}/"))

    assert "Odbieranie przez IMAP" in page and "Wysyłanie przez SMTP" in page and "Logowanie OAuth 2" in page
    assert "Sprawdź logowanie IMAP" in page and "Hasło IMAP" in page and "nie ustawiono" in page
    assert "Uzupełnij serwery dla:" in page and "Gmail (hasło aplikacji)" in page
    assert "Receiving by IMAP" not in page and "Test IMAP sign-in" not in page and "not set" not in page


@pytest.mark.django_db
def test_an_email_conversation_is_shown_in_polish(polish_client, tenant):
    channel = ChannelFactory(
        tenant=tenant,
        kind="email",
        config={"address": "obsluga@rowery.example"},
        inbound_address="obsluga@rowery.example",
    )
    conversation = receive(
        channel,
        "Jestem na urlopie do poniedziałku.",
        quoted_text="> Paczka wyszła wczoraj.",
        is_auto_reply=True,
    )

    page = text(polish_client.get(f"/t/{tenant.slug}/c/{conversation.number}/"))

    assert "Autoodpowiedź" in page and "nie otwiera ponownie rozmowy" in page
    assert "Pokaż cytowany tekst" in page and "Przypisz do mnie" in page
    assert "Automatic reply" not in page and "Show quoted text" not in page


def test_the_login_page_speaks_the_language_of_the_browser(client, db):
    page = text(client.get("/login/", headers={"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"}))

    assert "Zaloguj się" in page and "Nie pamiętasz hasła?" in page
    assert "Forgot your password?" not in page


def test_the_language_cookie_wins_over_the_browser(client, db):
    client.cookies["django_language"] = "pl"

    page = text(client.get("/login/", headers={"Accept-Language": "en"}))

    assert "Nie pamiętasz hasła?" in page


def test_english_stays_the_default(client, db):
    page = text(client.get("/login/"))

    assert "Forgot your password?" in page and "Nie pamiętasz hasła?" not in page


@pytest.mark.django_db
def test_the_contact_form_speaks_polish_to_a_polish_browser(client, tenant):
    form = ChannelFactory(tenant=tenant, kind="form", name="Kontakt")

    page = text(client.get(f"/f/{form.public_id}/", headers={"Accept-Language": "pl"}))

    assert "Wyślij wiadomość" in page and "Adres e-mail" in page
    assert "Send message" not in page


@pytest.mark.django_db
def test_a_member_of_another_shop_gets_the_polish_not_found_page(tenant, outsider):
    outsider.user.language = "pl"
    outsider.user.save(update_fields=["language"])
    client = Client()
    client.post("/login/", {"username": outsider.user.email, "password": PASSWORD})

    response = client.get(f"/t/{tenant.slug}/")

    assert response.status_code == 404
    assert "Nie znaleziono strony" in response.content.decode()


@pytest.mark.django_db
def test_api_error_messages_follow_accept_language(client):
    response = client.get("/api/v1/conversations", headers={"Accept-Language": "pl"})

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert error["message"].startswith("Wyślij poprawny token API")


@pytest.mark.django_db
def test_webhook_errors_follow_accept_language(client, api_channel):
    response = client.post(
        f"/hooks/{api_channel.public_id}/",
        b"{}",
        content_type="application/json",
        headers={"Accept-Language": "pl"},
    )

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Brakuje nagłówka X-Frontdesk-Signature"


def test_countries_are_listed_in_the_order_of_the_polish_alphabet():
    from django.utils import translation

    from frontdesk.desk.lib.countries import country_choices

    with translation.override("pl"):
        names = [name for _code, name in country_choices()]

    assert names.index("Bułgaria") < names.index("Burundi")
    assert names.index("Luksemburg") < names.index("Łotwa") < names.index("Macedonia Północna")
