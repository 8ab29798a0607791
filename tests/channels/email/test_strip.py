"""Reply stripping: the customer's new words first, what their mail program quoted apart.

Each case is a body as the named client writes it; the corpus has whole messages.
"""

from __future__ import annotations

import pytest

from frontdesk.channels.email.htmltext import html_to_text
from frontdesk.channels.email.strip import split_reply, split_text

QUOTE = "> Dzień dobry,\n> paczka wyszła wczoraj.\n"


@pytest.mark.parametrize(
    ("header", "method"),
    [
        ("On Mon, 23 Nov 2026 at 10:15, Sklep Rowerowy <support@rowery.example> wrote:", "en_wrote"),
        ("On Mon, 23 Nov 2026 at 10:15, Sklep Rowerowy <support@rowery.example>\nwrote:", "en_wrote"),
        ("W dniu 23.11.2026 o 10:15, Sklep Rowerowy pisze:", "pl_wrote"),
        ("Dnia 23 listopada 2026 10:00 Sklep <support@rowery.example> napisał(a):", "pl_wrote"),
        (
            "pon., 23 lis 2026 o 10:15 Sklep Rowerowy <support@rowery.example>\nnapisał(a):",
            "any_wrote_wrapped",
        ),
        ("śr., 25 lis 2026, 15:10 użytkownik Sklep <support@rowery.example> napisał:", "any_wrote"),
        (
            "Wiadomość napisana przez Sklep <support@rowery.example> w dniu 23.11.2026, o godz. 10:15:",
            "pl_apple",
        ),
        ("23.11.2026 10:15, Sklep Rowerowy пишет:", "any_wrote"),
        ("23 нояб. 2026 г., в 10:15, Sklep <support@rowery.example> написал(а):", "any_wrote"),
        ("пн, 23 нояб. 2026 г. в 10:15, Sklep Rowerowy <support@rowery.example>:", "date_address"),
        ("Четверг, 26 ноября 2026, 9:30 +03:00 от Sklep <support@rowery.example>:", "date_address"),
        ("Le lun. 23 nov. 2026 à 10:15, Sklep <support@rowery.example> a écrit :", "fr_wrote"),
        ("Am 23.11.2026 um 10:15 schrieb Sklep Rowerowy <support@rowery.example>:", "de_wrote"),
    ],
)
def test_an_attribution_line_starts_the_quote(header: str, method: str):
    split = split_text(f"Dziękuję, odbiorę jutro.\n\nJan\n\n{header}\n\n{QUOTE}")

    assert split.text == "Dziękuję, odbiorę jutro.\n\nJan"
    assert split.quoted.startswith(header.split("\n")[0])
    assert split.quoted.endswith("> paczka wyszła wczoraj.")
    assert split.method == f"text:{method}"


@pytest.mark.parametrize(
    "history",
    [
        "-----Original Message-----\nFrom: Sklep [mailto:support@rowery.example]\nSent: Monday",
        "-----Wiadomość oryginalna-----\nOd: Sklep [mailto:support@rowery.example]\nWysłano: poniedziałek",
        "-----Исходное сообщение-----\nОт: Sklep\nОтправлено: 23 ноября 2026 г. 10:15",
        "________________________________\nFrom: Sklep <support@rowery.example>\nSent: Monday, 23 November",
        "Od: Sklep Rowerowy <support@rowery.example>\nWysłane: poniedziałek, 23 listopada 2026\nDo: jan",
        "От: Sklep Rowerowy <support@rowery.example>\nОтправлено: 23 ноября 2026 г. 17:10\nКому: ivan",
        "*From:* Sklep <support@rowery.example>\n*Date:* Monday, 23 November 2026\n*To:* jan",
        "-------- Original message --------\nFrom: Sklep <support@rowery.example>\nDate: 23/11/2026",
    ],
)
def test_outlook_style_history_without_quote_marks_is_cut_at_its_header(history: str):
    split = split_text(f"Proszę o fakturę.\n\n{history}\n\nTreść poprzedniej wiadomości.\n")

    assert split.text == "Proszę o fakturę."
    assert split.quoted.startswith(history.split("\n")[0])
    assert split.quoted.endswith("Treść poprzedniej wiadomości.")


@pytest.mark.parametrize(
    "signature",
    [
        "Sent from my iPhone",
        "Wysłane z iPhone'a",
        "Отправлено с iPhone",
        "Get Outlook for Android",
        "Sent from my Galaxy",
    ],
)
def test_a_mobile_signature_goes_with_the_quote(signature: str):
    split = split_text(
        f"Tak, poproszę.\n\n{signature}\n\n> On Mon, 23 Nov 2026, Sklep wrote:\n> Czy dzwonek?\n"
    )

    assert split.text == "Tak, poproszę."
    assert split.quoted.startswith(signature)


def test_a_trailing_mobile_signature_alone_is_taken_off_but_never_everything():
    assert split_text("Dziękuję!\n\nWysłane z iPhone'a").text == "Dziękuję!"
    assert split_text("Sent from my iPhone").text == "Sent from my iPhone"


def test_a_trailing_block_of_quote_marks_is_history_with_its_introduction():
    split = split_text("Zgadzam się.\n\nJan Kowalski wrote:\n> Czy zgadza się Pan na zmianę?\n>\n")

    assert split.text == "Zgadzam się."
    assert split.quoted == "Jan Kowalski wrote:\n> Czy zgadza się Pan na zmianę?\n>"


def test_answers_between_quotes_are_not_stripped():
    body = (
        "On Thu, Nov 26, 2026 at 10:00AM, Sklep wrote:\n> Which wheel size?\n\n28 inch.\n\n"
        "> A tube as well?\n\nYes, two.\n"
    )

    assert split_text(body).quoted == ""
    assert split_text("Odpowiedzi poniżej.\n\n" + body).quoted == ""


def test_a_message_that_is_all_quote_keeps_its_whole_text():
    split = split_text("> Dzień dobry,\n> potwierdzamy zamówienie.\n")

    assert split.text == "> Dzień dobry,\n> potwierdzamy zamówienie." and split.quoted == ""


@pytest.mark.parametrize(
    "body",
    [
        "Od poniedziałku do piątku jestem w pracy.\nData: 12.01 pasuje mi najbardziej.\n",
        "Kurier napisał:\nże paczka będzie jutro o 10:00.\n",
        "From: Warsaw, Poland\nI would like to order two bikes.\n",
        "W dniu dostawy proszę dzwonić, bo domofon nie działa. Kolega pisze:\nże działa.\n",
        "Temat: zwrot\nOd: Jan\nProszę o zwrot pieniędzy.\n",
        "Gdzie jest paczka?\nWysłano z magazynu w poniedziałek.\n",
        "Where is the parcel?\nSent via DHL Express on Monday.\n",
    ],
)
def test_ordinary_sentences_that_look_like_headers_are_not_cut(body: str):
    split = split_text(body)

    assert split.quoted == ""
    assert split.text == body.strip()


def test_an_inline_forward_stays_in_the_text():
    body = (
        "Proszę sprawdzić zamówienie poniżej.\n\n---------- Forwarded message ---------\n"
        "From: Sklep <orders@rowery.example>\nDate: Wed, 25 Nov 2026\nSubject: Zamówienie\n\nTreść.\n"
    )

    assert split_text(body).quoted == ""
    assert split_reply(body, subject="Fwd: Zamówienie").quoted == ""
    # A forward's subject keeps the whole forwarded history, whatever its layout.
    assert split_reply("Zobacz.\n\nOd: Sklep <a@b.pl>\nWysłane: wczoraj\n\nx", subject="PD: x").quoted == ""


def test_the_html_structure_decides_where_the_plain_text_is_cut():
    html = html_to_text(
        '<div dir="ltr">Odbiorę jutro.</div><div class="gmail_quote"><div class="gmail_attr">'
        "Sklep Rowerowy, 23.11.2026 10:15:</div><blockquote>Paczka czeka.</blockquote></div>"
    )
    # A layout no text pattern knows ("Name, date:" with no quote marks): only the HTML tells.
    plain = "Odbiorę jutro.\n\nSklep Rowerowy, 23.11.2026 10:15:\n\nPaczka czeka.\n"

    split = split_reply(plain, html)

    assert split.text == "Odbiorę jutro."
    assert split.quoted == "Sklep Rowerowy, 23.11.2026 10:15:\n\nPaczka czeka."
    assert split.method == "html:gmail_quote"


def test_apple_mails_attribution_above_its_blockquote_moves_to_the_quote():
    html = html_to_text(
        'Great, thanks.<div><br><blockquote type="cite"><div>Hello Oliver,</div></blockquote></div>'
    ).text
    converted = html_to_text(
        "Great, thanks.<div><br><div>On 23 Nov 2026, at 19:05, Sklep &lt;s@r.example&gt; wrote:</div>"
        '<blockquote type="cite"><div>Hello Oliver,</div></blockquote></div>'
    )

    split = split_reply(converted.text, converted, text_from_html=True)

    assert html.startswith("Great, thanks.")
    assert split.text == "Great, thanks."
    assert split.quoted == "On 23 Nov 2026, at 19:05, Sklep <s@r.example> wrote:\n> Hello Oliver,"


def test_outlook_web_html_without_a_plain_part_is_cut_at_divrplyfwdmsg():
    converted = html_to_text(
        '<div>Size M, please.</div><div id="appendonsend"></div><hr><div id="divRplyFwdMsg">'
        "<b>From:</b> Sklep<br><b>Sent:</b> Monday</div><div>Which size?</div>"
    )

    split = split_reply(converted.text, converted, text_from_html=True)

    assert split.text == "Size M, please."
    assert split.quoted == "From: Sklep\nSent: Monday\nWhich size?"
    assert split.method == "html:appendonsend"


def test_a_plain_blockquote_is_history_only_at_the_end():
    at_end = html_to_text("<p>Tak.</p><blockquote>Czy potwierdza Pan?</blockquote>")
    in_middle = html_to_text("<p>Jak pisał klasyk:</p><blockquote>Cytat</blockquote><p>I dlatego piszę.</p>")

    assert split_reply(at_end.text, at_end, text_from_html=True).quoted == "> Czy potwierdza Pan?"
    assert split_reply(in_middle.text, in_middle, text_from_html=True).quoted == ""


def test_long_texts_are_split_without_slowing_down():
    body = "Linia tekstu bez cytatów, On to nie jest nagłówek.\n" * 3_500 + "\nOn Mon wrote:\n> koniec\n"

    split = split_text(body)

    assert split.text.startswith("Linia tekstu") and split.quoted == "On Mon wrote:\n> koniec"
