# ruff: noqa: E501 - prose reads better unwrapped
"""What the demo shop's customers write about, and how its staff answer, in Polish and English.

Templates with {slots} filled by the generator (see generator.slots). Each topic has the customer's
first message, follow-ups, the team's answers, internal notes (with an @mention of a colleague)
and the customer's thanks. Nothing here is lorem ipsum: it is what a bike and outdoor shop hears.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lines:
    """What is said in one topic and language. `replies[i]` and `closing_replies[i]` (modulo their
    length) answer `openings[i]`; follow-ups, notes and thanks fit any of them."""

    subjects: tuple[str, ...]
    openings: tuple[str, ...]
    follow_ups: tuple[str, ...]
    replies: tuple[str, ...]
    closing_replies: tuple[str, ...]
    notes: tuple[str, ...]
    thanks: tuple[str, ...]


@dataclass(frozen=True)
class Topic:
    key: str
    tags: tuple[str, ...]
    team: str
    # Weights of low, normal, high, urgent.
    priorities: tuple[int, int, int, int]
    weight: int
    pl: Lines
    en: Lines
    # Which kinds of PRODUCTS the topic is about.
    kinds: tuple[str, ...] = ("bike", "wear", "gear", "part")


# (kind, Polish nominative, Polish accusative, English). Topics pick products of the kinds they fit.
PRODUCTS = (
    ("bike", 'rower trekkingowy Vento 28"', 'rower trekkingowy Vento 28"', 'Vento 28" trekking bike'),
    ("bike", "rower górski Skalnik 29", "rower górski Skalnik 29", "Skalnik 29 mountain bike"),
    ("bike", "rower dziecięcy Pędzik 20", "rower dziecięcy Pędzik 20", "Pędzik 20 kids' bike"),
    ("bike", "rower miejski Bulwar 3", "rower miejski Bulwar 3", "Bulwar 3 city bike"),
    ("wear", "kask rowerowy AirFlow", "kask rowerowy AirFlow", "AirFlow cycling helmet"),
    ("gear", "namiot 3-osobowy Tatra Lite", "namiot 3-osobowy Tatra Lite", "Tatra Lite 3-person tent"),
    ("gear", "śpiwór puchowy Halny -10°C", "śpiwór puchowy Halny -10°C", "Halny -10°C down sleeping bag"),
    ("wear", "buty trekkingowe Granit GTX", "buty trekkingowe Granit GTX", "Granit GTX hiking boots"),
    ("wear", "kurtka przeciwdeszczowa Mgła", "kurtkę przeciwdeszczową Mgła", "Mgła rain jacket"),
    ("wear", "spodnie softshell Przełęcz", "spodnie softshell Przełęcz", "Przełęcz softshell trousers"),
    ("gear", "plecak turystyczny Orla 45 l", "plecak turystyczny Orla 45 l", "Orla 45 l hiking backpack"),
    ("part", "lampka rowerowa Lumen 800", "lampkę rowerową Lumen 800", "Lumen 800 bike light"),
    ("part", "licznik GPS Trasa 2", "licznik GPS Trasa 2", "Trasa 2 GPS bike computer"),
    ("gear", "kuchenka turystyczna Płomyk", "kuchenkę turystyczną Płomyk", "Płomyk camping stove"),
    (
        "part",
        "sakwy rowerowe Wędrowiec 2x20 l",
        "sakwy rowerowe Wędrowiec 2x20 l",
        "Wędrowiec 2x20 l panniers",
    ),
    ("part", "zapięcie U-lock Twierdza", "zapięcie U-lock Twierdza", "Twierdza U-lock"),
    ("gear", "kije trekkingowe Szlak Carbon", "kije trekkingowe Szlak Carbon", "Szlak Carbon trekking poles"),
    ("part", "fotelik rowerowy Pasażer", "fotelik rowerowy Pasażer", "Pasażer child bike seat"),
    ("part", "opony Szuter 700x40 (para)", "opony Szuter 700x40 (parę)", "Szuter 700x40 tyres (pair)"),
)
COURIERS = ("InPost", "DPD", "DHL", "GLS", "Poczta Polska")
LOCKERS = ("KRA01M", "WAW22A", "POZ08N", "GDA15M", "WRO31A", "LOD07M", "KAT12N", "LUB04A")
CODES = ("WIOSNA15", "ROWER10", "NEWSLETTER10", "POWROT20", "WEEKEND15", "GORY12", "SERWIS50")
SIZES = ("38", "39", "40", "41", "42", "43", "44", "45", "S", "M", "L", "XL")

_PL_SIGN = (
    "Pozdrawiam\n{agent}\nRowerownia",
    "Pozdrawiamy serdecznie\n{agent} z Rowerowni",
    "{agent}, Rowerownia",
)
_EN_SIGN = (
    "Best regards,\n{agent}\nRowerownia",
    "Kind regards,\n{agent} (Rowerownia customer service)",
    "Cheers,\n{agent}",
)
SIGN_OFFS = {"pl": _PL_SIGN, "en": _EN_SIGN}
GREETINGS = {
    "pl": ("Dzień dobry,", "Dzień dobry!", "Witam serdecznie,"),
    "en": ("Hi {first},", "Hello {first},", "Dear {first},"),
}
CUSTOMER_GREETINGS = {
    "pl": ("Dzień dobry,", "Witam,", "Dzień dobry!", "", "Cześć,"),
    "en": ("Hi,", "Hello,", "", "Good morning,"),
}
CUSTOMER_SIGNATURES = {
    "pl": ("Pozdrawiam\n{first}", "{first} {last}", "", "Z góry dziękuję\n{first}", ""),
    "en": ("Thanks,\n{first}", "{first} {last}", "", "Best,\n{first}"),
}

TOPICS = (
    Topic(
        key="delivery",
        tags=("dostawa",),
        team="support",
        priorities=(1, 6, 2, 0),
        weight=9,
        pl=Lines(
            subjects=(
                "Gdzie jest moja paczka? Zamówienie {order}",
                "Opóźniona dostawa {order}",
                "Brak przesyłki od {days} dni",
                "Status zamówienia {order}",
            ),
            openings=(
                "Zamówiłem {product_acc} {date} (zamówienie {order}) i do dziś nic nie przyszło. Na stronie"
                " {courier} od {days} dni widnieje status „w drodze”. Kiedy mogę się spodziewać paczki?",
                "Zamówienie {order} miało być dostarczone do paczkomatu {locker}, a minęło już {days} dni."
                " Czy paczka w ogóle została nadana?",
                "Potrzebuję {product_acc} na wyjazd w sobotę. Zamówienie {order} wciąż ma status „w"
                " realizacji”. Czy zdążycie wysłać?",
                "Kurier {courier} dwa razy nie zastał mnie w domu i paczka wróciła do oddziału. Numer"
                " zamówienia {order}. Czy można ją przekierować do paczkomatu {locker}?",
                "Dostałem SMS, że paczka jest w paczkomacie {locker}, ale skrytka była pusta. Zamówienie {order}.",
            ),
            follow_ups=(
                "Dziękuję, ale w śledzeniu nadal nic się nie zmieniło. Czy możecie to sprawdzić u kuriera?",
                "Paczka dalej nie dotarła. Jeśli nie przyjdzie do piątku, proszę o anulowanie zamówienia i zwrot pieniędzy.",
                "Czy jest już jakaś informacja od {courier}?",
                "Kurier właśnie dzwonił, ale nie mogłem odebrać. Co teraz?",
            ),
            replies=(
                "Przepraszamy za opóźnienie. Sprawdziliśmy zamówienie {order}: paczka została nadana {date}"
                " przez {courier}, numer przesyłki {tracking}. Zgłosiliśmy reklamację opóźnienia u przewoźnika"
                " i damy znać, gdy tylko odpowie.",
                "Paczka z zamówieniem {order} utknęła w sortowni {courier} w mieście {city}. Przewoźnik"
                " obiecuje doręczenie w ciągu 1–2 dni roboczych. Numer do śledzenia: {tracking}.",
                "Zamówienie {order} zostało wysłane dziś rano, powinno dotrzeć jutro do paczkomatu {locker}."
                " Przepraszamy, że trwało to dłużej niż zwykle — mieliśmy opóźnienie dostawy od producenta.",
                "Przekierowaliśmy przesyłkę do paczkomatu {locker}. Kod odbioru przyjdzie SMS-em od {courier}.",
            ),
            closing_replies=(
                "Według {courier} paczka została doręczona. Daj nam znać, gdyby czegoś brakowało.",
                "Przesyłka jest już w paczkomacie {locker}. W ramach przeprosin dodaliśmy do konta kod"
                " {code} na kolejne zakupy.",
                "Zwróciliśmy koszt dostawy ({amount}) na konto, z którego była płatność. Przepraszamy za kłopot.",
            ),
            notes=(
                "{mention} czy możesz zadzwonić do opiekuna {courier}? To już trzecie zgłoszenie z tej sortowni w tym tygodniu.",
                "Paczka {tracking} — {courier} potwierdził opóźnienie, nowy termin doręczenia jutro. {mention} daj znać, jeśli klient napisze ponownie.",
                "Klient pisał też na Facebooku. {mention} proszę nie odpowiadaj tam osobno, prowadzimy sprawę tutaj.",
            ),
            thanks=(
                "Paczka dotarła, wszystko w porządku. Dziękuję za pomoc!",
                "Odebrałem, dziękuję.",
                "Super, dziękuję za szybką reakcję.",
            ),
        ),
        en=Lines(
            subjects=(
                "Where is my order {order}?",
                "Delivery delayed – order {order}",
                "Parcel not arrived after {days} days",
            ),
            openings=(
                "I ordered the {product} on {date} (order {order}) and it still hasn't arrived. The {courier}"
                " tracking has said 'in transit' for {days} days. When can I expect it?",
                "My order {order} was supposed to go to the parcel locker {locker} but nothing has happened"
                " for {days} days. Has it actually been shipped?",
                "I need the {product} for a trip this weekend. Order {order} still shows 'processing'. Will"
                " it be shipped in time?",
                "The {courier} driver missed me twice and the parcel went back to the depot. Order {order}."
                " Can you redirect it to the locker {locker}?",
            ),
            follow_ups=(
                "Thanks, but the tracking still shows no change. Could you chase the courier?",
                "Still nothing. If it doesn't arrive by Friday please cancel the order and refund me.",
                "Any news from {courier}?",
            ),
            replies=(
                "Sorry for the delay. Order {order} was handed to {courier} on {date}, tracking number"
                " {tracking}. We have opened a delay claim with the carrier and will let you know as soon as"
                " they reply.",
                "Your parcel is stuck at the {courier} hub in {city}; they promise delivery within 1–2"
                " working days. Tracking: {tracking}.",
                "Order {order} left our warehouse this morning and should reach the locker {locker}"
                " tomorrow. Apologies for the wait — a supplier delivery came in late.",
            ),
            closing_replies=(
                "{courier} shows the parcel as delivered. Let us know if anything is missing.",
                "The parcel is in the locker {locker} now. As an apology we've added the code {code} to"
                " your account for your next order.",
                "We've refunded the delivery cost ({amount}) to your original payment method. Sorry for the trouble.",
            ),
            notes=(
                "{mention} could you call our {courier} account manager? Third delayed parcel from this hub this week.",
                "{courier} confirmed the delay for {tracking}, new delivery date tomorrow. {mention} FYI in case the customer writes again.",
            ),
            thanks=(
                "Got it today, all good. Thanks for your help!",
                "Received, thank you.",
                "Great, thanks for sorting it so quickly.",
            ),
        ),
    ),
    Topic(
        key="return",
        tags=("zwrot",),
        team="returns",
        priorities=(2, 7, 1, 0),
        weight=8,
        pl=Lines(
            subjects=(
                "Zwrot towaru – zamówienie {order}",
                "Chcę zwrócić {product_acc}",
                "Odstąpienie od umowy {order}",
            ),
            openings=(
                "Chciałabym zwrócić {product_acc} z zamówienia {order} — jednak nie spełnia moich oczekiwań."
                " Produkt jest nieużywany, w oryginalnym opakowaniu. Jak mam go odesłać?",
                "Odstępuję od umowy w ramach 14 dni na zwrot (zamówienie {order}). Czy muszę wypełnić jakiś"
                " formularz? Wolałbym nadać paczkę w paczkomacie.",
                "Odesłałem {product_acc} {days} dni temu, paczka została odebrana przez magazyn, a pieniądze"
                " ({amount}) nadal nie wróciły. Kiedy mogę się spodziewać zwrotu?",
                "Kupiłam {product_acc} jako prezent, ale obdarowany ma już taki sam. Czy mogę zamienić na"
                " bon albo inny produkt zamiast zwrotu pieniędzy?",
            ),
            follow_ups=(
                "Paczka zwrotna nadana, numer {tracking}. Proszę o potwierdzenie, gdy dotrze.",
                "Minął tydzień od doręczenia zwrotu, a pieniędzy dalej nie ma na koncie.",
                "Czy zwrot obejmuje też koszt dostawy?",
            ),
            replies=(
                "Oczywiście. Wystarczy odesłać produkt w ciągu 14 dni na adres: Rowerownia, ul. Składowa 12,"
                " 30-001 Kraków, z dopiskiem {order}. Etykietę zwrotną InPost wysłaliśmy właśnie na Twój adres"
                " e-mail — nadanie jest bezpłatne.",
                "Formularz nie jest potrzebny — wystarczy ta wiadomość. Etykietę zwrotną do paczkomatu wysłaliśmy e-mailem, nadanie jest bezpłatne. Pieniądze zwrócimy w ciągu 14 dni od otrzymania paczki.",
                "Zwrot dla zamówienia {order} został przyjęty na magazynie. Pieniądze ({amount}) zlecimy w"
                " ciągu 2 dni roboczych na konto, z którego była płatność.",
                "Możemy zamienić produkt na bon o wartości {amount} ważny 12 miesięcy albo na inny towar."
                " Daj znać, co wybierasz.",
            ),
            closing_replies=(
                "Zwrot {amount} został zlecony. Środki powinny pojawić się na koncie w ciągu 1–3 dni roboczych.",
                "Zwróciliśmy {amount} razem z kosztem najtańszej dostawy, zgodnie z przepisami.",
                "Zwrot {amount} został zlecony. Przepraszamy, że trwało to dłużej niż powinno.",
                "Bon na {amount} jest już na Twoim koncie w sklepie. Dziękujemy i zapraszamy ponownie!",
            ),
            notes=(
                "{mention} paczka zwrotna {tracking} dotarła, towar sprawdzony i kompletny — możesz zlecić zwrot środków.",
                "Klient odesłał {product_acc} bez paragonu, ale zamówienie {order} się zgadza. {mention} akceptujemy?",
                "Zwrot po terminie (dzień 16.), ale klient VIP. {mention} decyzja należy do Ciebie.",
            ),
            thanks=(
                "Pieniądze dotarły, dziękuję!",
                "Dziękuję za sprawną obsługę zwrotu.",
                "Wszystko jasne, dziękuję.",
            ),
        ),
        en=Lines(
            subjects=(
                "Return – order {order}",
                "I'd like to return the {product}",
                "Refund for order {order}",
            ),
            openings=(
                "I'd like to return the {product} from order {order} — it isn't what I expected. It's unused"
                " and in the original box. How do I send it back?",
                "I sent the {product} back {days} days ago, your warehouse signed for it, but the refund"
                " ({amount}) still hasn't arrived. When will it come?",
                "I bought the {product} as a gift but they already have one. Can I exchange it for a voucher?",
            ),
            follow_ups=(
                "Return parcel sent, tracking {tracking}. Please confirm when it arrives.",
                "It's been a week since the return was delivered and still no refund.",
            ),
            replies=(
                "Of course. Please send the item back within 14 days to Rowerownia, ul. Składowa 12, 30-001"
                " Kraków, Poland, quoting {order}. We've emailed you a prepaid return label.",
                "Your return for order {order} has been received at our warehouse. We'll refund {amount} to"
                " your original payment method within 2 working days.",
                "We can swap it for a voucher worth {amount}, valid for 12 months, or for another product. Which would you prefer?",
            ),
            closing_replies=(
                "Your refund of {amount} has been issued; it should show on your account in 1–3 working days.",
                "The refund of {amount} is on its way — sorry it took longer than it should have.",
                "A voucher for {amount} is now on your shop account. Thanks, and see you again!",
            ),
            notes=(
                "{mention} return {tracking} arrived, item checked and complete — please issue the refund.",
                "Customer is abroad, refund in EUR? {mention} can you check with accounting?",
            ),
            thanks=("Refund received, thanks!", "Thanks for the smooth return.", "All clear, thank you."),
        ),
    ),
    Topic(
        key="complaint",
        kinds=("wear", "gear", "part"),
        tags=("reklamacja",),
        team="returns",
        priorities=(0, 4, 4, 1),
        weight=7,
        pl=Lines(
            subjects=("Reklamacja – {product}", "Wada produktu, zamówienie {order}", "Reklamacja {rma}"),
            openings=(
                "Po trzech tygodniach używania w {product_acc} pękł zamek. Chcę złożyć reklamację —"
                " zamówienie {order}. Zdjęcia w załączeniu.",
                "Przerzutka w rowerze z zamówienia {order} przeskakuje na każdym biegu, mimo regulacji w"
                " serwisie. Rower ma {days} dni. Proszę o naprawę albo wymianę.",
                "Kupiłem {product_acc} w zeszłym miesiącu i już po pierwszym deszczu przemaka. To nie tak"
                " powinno wyglądać za {amount}. Składam reklamację.",
                "Produkt z zamówienia {order} ({product}) po dwóch tygodniach nie nadaje się do użytku. Jak złożyć reklamację?",
            ),
            follow_ups=(
                "Minęło już {days} dni, a nie mam żadnej decyzji w sprawie reklamacji. Przypominam, że macie 14 dni na odpowiedź.",
                "Wysłałem produkt do serwisu zgodnie z instrukcją, numer przesyłki {tracking}.",
                "Czy jest już decyzja producenta?",
                "Jestem bardzo niezadowolony z tej sytuacji. Jeśli sprawa się nie rozwiąże, zgłoszę ją do rzecznika konsumentów.",
            ),
            replies=(
                "Dziękujemy za zdjęcia. Przekazaliśmy reklamację {rma} do producenta. Zwykle odpowiada w 5–7"
                " dni roboczych — damy znać od razu.",
                "Rower odbierze od Ciebie kurier {courier} — wystarczy go zapakować w karton, w którym"
                " przyszedł. Sprawdzimy go w naszym serwisie.",
                "Bardzo nam przykro. Zarejestrowaliśmy reklamację pod numerem {rma}. Prosimy o odesłanie"
                " produktu z opisem wady — etykietę kurierską wysłaliśmy e-mailem. Odpowiedź dostaniesz"
                " najpóźniej w ciągu 14 dni od otrzymania towaru.",
            ),
            closing_replies=(
                "Reklamacja {rma} została uznana. Wysłaliśmy nowy egzemplarz, numer przesyłki {tracking}.",
                "Serwis wymienił wadliwą część, rower wraca do Ciebie kurierem {courier} ({tracking}).",
                "Producent uznał reklamację — zwrócimy {amount} w ciągu 3 dni roboczych.",
                "Reklamacja {rma} została uznana. Nowy egzemplarz jest już w drodze ({tracking}).",
            ),
            notes=(
                "{mention} to już trzecia reklamacja zamków w tej partii. Zgłośmy to producentowi zbiorczo.",
                "Termin na odpowiedź w reklamacji {rma} mija w piątek! {mention} proszę dopilnuj.",
                "Klient grozi rzecznikiem. Proponuję uznać od razu i wysłać nowy egzemplarz. {mention} OK?",
                "Serwis potwierdził wadę fabryczną, protokół w systemie magazynowym. {mention} możesz odpisać klientowi.",
            ),
            thanks=(
                "Nowy egzemplarz dotarł, działa bez zarzutu. Dziękuję!",
                "Dziękuję za uznanie reklamacji.",
                "OK, dziękuję za szybkie załatwienie sprawy.",
            ),
        ),
        en=Lines(
            subjects=("Complaint – faulty {product}", "Defective item, order {order}"),
            openings=(
                "The zip on my {product} broke after three weeks. I'd like to make a warranty claim — order {order}. Photos attached.",
                "The gears on the bike from order {order} keep slipping even after a service. The bike is {days} days old. Please repair or replace it.",
                "My {product} leaks after the first rain. Not what I expect for {amount}. I want to file a complaint.",
            ),
            follow_ups=(
                "It's been {days} days and I still have no decision on my complaint.",
                "I've sent the item back as instructed, tracking {tracking}.",
            ),
            replies=(
                "Thanks for the photos. We've passed complaint {rma} to the manufacturer; they usually answer within 5–7 working days.",
                "A {courier} courier will collect the bike — just pack it in the box it came in. Our workshop will check it.",
                "We're very sorry. Your complaint is registered as {rma}. Please send the item back with a"
                " short description of the fault — we've emailed you a courier label. You'll have our answer"
                " within 14 days of us receiving it.",
            ),
            closing_replies=(
                "Complaint {rma} has been accepted. A replacement is on its way, tracking {tracking}.",
                "Our workshop replaced the faulty part; the bike is on its way back with {courier} ({tracking}).",
                "The manufacturer accepted the claim — we'll refund {amount} within 3 working days.",
            ),
            notes=(
                "{mention} third zip complaint from this batch, let's report it to the manufacturer in one go.",
                "Deadline for {rma} is Friday! {mention} please keep an eye on it.",
            ),
            thanks=(
                "The replacement arrived and works perfectly. Thank you!",
                "Thanks for accepting the claim.",
            ),
        ),
    ),
    Topic(
        key="discount",
        tags=("kod rabatowy",),
        team="support",
        priorities=(3, 6, 1, 0),
        weight=6,
        pl=Lines(
            subjects=(
                "Kod rabatowy {code} nie działa",
                "Problem z kodem rabatowym",
                "Rabat nie naliczył się",
            ),
            openings=(
                "Próbuję użyć kodu {code} z newslettera, ale koszyk pokazuje „kod nieprawidłowy”. W koszyku"
                " mam {product_acc}.",
                "Złożyłem zamówienie {order} i zapomniałem wpisać kod {code}. Czy można jeszcze naliczyć rabat?",
                "Kod {code} naliczył rabat tylko na jeden produkt, a miał być na cały koszyk. Zamówienie {order}.",
                "Dostałam kod {code} za zapis do newslettera, ale nigdy nie przyszedł mail. Czy możecie go wysłać jeszcze raz?",
            ),
            follow_ups=(
                "Nadal nie działa, sprawdzałem w dwóch przeglądarkach.",
                "To kiedy zobaczę zwrot różnicy?",
            ),
            replies=(
                "Kod {code} nie obejmuje produktów z kategorii „Wyprzedaż”, stąd komunikat. Przygotowaliśmy"
                " dla Ciebie jednorazowy kod ROWER-{tracking_short}, który zadziała na cały koszyk.",
                "Nie ma problemu — naliczymy rabat ręcznie i zwrócimy różnicę ({amount}) na konto w ciągu 2 dni roboczych.",
                "Masz rację, kod {code} powinien objąć cały koszyk. Naliczyliśmy rabat ręcznie — różnicę ({amount}) zwrócimy na konto.",
                "Kod {code} jest ważny do końca miesiąca i działa od zamówień za 200 zł. Wysłaliśmy go"
                " ponownie na Twój adres e-mail.",
            ),
            closing_replies=(
                "Nowy kod jest aktywny. Daj znać, gdyby znowu coś nie działało.",
                "Różnica {amount} została zwrócona. Miłej jazdy!",
                "Różnica {amount} jest już w drodze na Twoje konto. Przepraszamy za zamieszanie!",
                "Kod działa — sprawdziliśmy go na Twoim koncie. Udanych zakupów!",
            ),
            notes=(
                "{mention} kod {code} blokuje się na produktach z promocji — to błąd w konfiguracji czy celowo?",
                "Marketing potwierdził: {code} nie łączy się z innymi promocjami. {mention} zaktualizujmy FAQ.",
            ),
            thanks=("Zadziałało, dziękuję!", "Dziękuję, zamówienie złożone.", "Super, dzięki!"),
        ),
        en=Lines(
            subjects=("Discount code {code} not working", "Discount not applied"),
            openings=(
                "I'm trying to use the code {code} from your newsletter but the basket says 'invalid code'. I have the {product} in the basket.",
                "I placed order {order} and forgot to enter the code {code}. Can you still apply the discount?",
            ),
            follow_ups=("Still not working, I tried two browsers.",),
            replies=(
                "The code {code} doesn't apply to sale items, hence the message. Here's a one-off code"
                " ROWER-{tracking_short} that works on the whole basket.",
                "No problem — we'll apply the discount manually and refund the difference ({amount}) within 2 working days.",
            ),
            closing_replies=(
                "Your new code is active — let us know if anything else goes wrong.",
                "The difference of {amount} has been refunded. Enjoy the ride!",
            ),
            notes=("{mention} {code} is blocked on sale items — bug or intended?",),
            thanks=("It worked, thank you!", "Thanks, order placed."),
        ),
    ),
    Topic(
        key="invoice",
        tags=("faktura",),
        team="support",
        priorities=(4, 5, 0, 0),
        weight=6,
        pl=Lines(
            subjects=(
                "Faktura VAT do zamówienia {order}",
                "Korekta faktury {order}",
                "Prośba o fakturę na firmę",
            ),
            openings=(
                "Proszę o wystawienie faktury VAT na firmę do zamówienia {order}. NIP: {nip}, dane jak w koncie klienta.",
                "Na fakturze do zamówienia {order} jest błędny NIP — prawidłowy to {nip}. Proszę o korektę.",
                "Nie dostałem faktury do zamówienia {order}, a potrzebuję jej do rozliczenia. Czy możecie ją przesłać mailem?",
                "Kupiłem {product_acc} na firmę. Czy faktura może być wystawiona z odroczonym terminem płatności?",
            ),
            follow_ups=(
                "Dziękuję, ale na korekcie nadal jest stary adres firmy.",
                "Księgowa pyta, czy faktura będzie w KSeF.",
            ),
            replies=(
                "Faktura do zamówienia {order} jest już dostępna w zakładce „Moje zamówienia” i wysłaliśmy ją e-mailem.",
                "Wystawiliśmy fakturę korygującą z NIP {nip}. Znajdziesz ją w załączniku do maila i na koncie w sklepie.",
                "Faktury wystawiamy w KSeF, numer KSeF jest na dokumencie. Kopię PDF wysłaliśmy mailem.",
                "Dla firm możemy wystawiać faktury z 14-dniowym terminem płatności po pierwszym opłaconym"
                " zamówieniu. Tym razem prosimy o płatność z góry — fakturę wyślemy od razu po zaksięgowaniu.",
            ),
            closing_replies=(
                "Poprawiona faktura została wysłana. Czy coś jeszcze możemy zrobić?",
                "Gotowe — dokument jest w systemie. Dziękujemy za zakupy!",
            ),
            notes=(
                "{mention} czy możesz wystawić korektę? Nie mam uprawnień w systemie księgowym.",
                "Klient firmowy, zamawia regularnie. {mention} może warto zaproponować konto B2B?",
            ),
            thanks=("Dziękuję, faktura otrzymana.", "Wszystko się zgadza, dziękuję.", "Dzięki!"),
        ),
        en=Lines(
            subjects=("VAT invoice for order {order}", "Invoice correction"),
            openings=(
                "Could you issue a VAT invoice for order {order} to my company? VAT number PL{nip_plain}.",
                "I haven't received an invoice for order {order} and need it for my expenses. Can you email it?",
            ),
            follow_ups=("Thanks, but the correction still shows our old address.",),
            replies=(
                "We've issued the invoice for order {order} to your company (VAT PL{nip_plain}); it's attached to our email and in your account.",
                "The invoice for order {order} is available under 'My orders' and we've emailed it to you.",
            ),
            closing_replies=("The corrected invoice has been sent. Anything else we can do?",),
            notes=("{mention} can you issue the correction? I don't have access to the accounting system.",),
            thanks=("Thanks, invoice received.", "All correct now, thank you."),
        ),
    ),
    Topic(
        key="size",
        kinds=("wear",),
        tags=("rozmiar", "zwrot"),
        team="returns",
        priorities=(2, 7, 1, 0),
        weight=5,
        pl=Lines(
            subjects=(
                "Wymiana rozmiaru – {product}",
                "Za mały rozmiar, zamówienie {order}",
                "Zły rozmiar ramy",
            ),
            openings=(
                "Zamówiłem {product_acc} w rozmiarze {size}, ale są za małe. Czy mogę wymienić na {size_new}?"
                " Zamówienie {order}.",
                "Zamówiony produkt ({product}) w rozmiarze {size} jest za duży. Czy macie {size_new} na"
                " stanie? Wolałabym wymianę niż zwrot. Zamówienie {order}.",
                "Rozmiar {size} okazał się za duży. Czy mogę dostać {size_new} w zamian? Zamówienie {order}, towar nieużywany.",
            ),
            follow_ups=(
                "Odesłałem paczkę, numer przesyłki {tracking}. Kiedy wyślecie nowy rozmiar?",
                "Czy rozmiar {size_new} będzie jeszcze dostępny?",
            ),
            replies=(
                "Jasne! Rozmiar {size_new} jest dostępny. Odeślij proszę obecny produkt z dopiskiem {order}"
                " (etykieta w mailu), a nowy rozmiar wyślemy od razu, gdy paczka zostanie nadana.",
                "Rozmiar {size_new} zarezerwowaliśmy dla Ciebie na 7 dni. Wymiana jest bezpłatna.",
                "Kurier {courier} odbierze obecny rozmiar i dostarczy {size_new} w jednym kursie — nic nie musisz nadawać.",
            ),
            closing_replies=(
                "Nowy rozmiar wyjechał kurierem {courier}, numer przesyłki {tracking}.",
                "Wymiana zakończona. Miłego użytkowania!",
            ),
            notes=(
                "{mention} zarezerwuj proszę {size_new} w magazynie, zostały dwie sztuki.",
                "Kolejna osoba pisze, że ten model jest rozmiarówką mniejszy. {mention} dodajmy uwagę w opisie produktu.",
            ),
            thanks=("Nowy rozmiar pasuje idealnie, dziękuję!", "Dziękuję za szybką wymianę."),
        ),
        en=Lines(
            subjects=("Size exchange – {product}", "Wrong size, order {order}"),
            openings=(
                "I ordered the {product} in size {size} but they're too small. Can I exchange them for {size_new}? Order {order}.",
                "Size {size} turned out too big. Could I swap it for {size_new}? Order {order}, never worn.",
            ),
            follow_ups=("I've sent them back, tracking {tracking}. When will the new size ship?",),
            replies=(
                "Sure! Size {size_new} is in stock. Send the current one back quoting {order} (label in"
                " your email) and we'll ship the new size as soon as it's on its way.",
                "We've reserved size {size_new} for you for 7 days. The exchange is free of charge.",
            ),
            closing_replies=("Your new size is on its way with {courier}, tracking {tracking}.",),
            notes=("{mention} please reserve {size_new} in the warehouse, only two left.",),
            thanks=("The new size fits perfectly, thanks!",),
        ),
    ),
    Topic(
        key="damaged",
        kinds=("bike", "gear"),
        tags=("uszkodzenie", "reklamacja"),
        team="returns",
        priorities=(0, 3, 5, 2),
        weight=5,
        pl=Lines(
            subjects=(
                "Uszkodzona paczka – zamówienie {order}",
                "Rower przyszedł uszkodzony",
                "Zniszczony karton i towar",
            ),
            openings=(
                "Paczka z zamówieniem {order} przyszła z rozdartym kartonem, a {product} jest porysowany."
                " Kurier {courier} nie chciał spisać protokołu. Co mam zrobić?",
                "Rower dotarł z wygiętym kołem i urwaną linką hamulca. Zdjęcia wysyłam w załączniku. Zamówienie {order}.",
                "W paczce z zamówieniem {order} brakuje jednego elementu, a opakowanie było otwierane.",
            ),
            follow_ups=(
                "Spisałam protokół szkody w punkcie {courier}, mam jego zdjęcie. Wysłać?",
                "Czy kurier przyjedzie po uszkodzony rower, czy mam go sam nadać?",
            ),
            replies=(
                "Bardzo przepraszamy! Sprawa ma u nas priorytet. Wyślemy nowy egzemplarz jeszcze dziś, a"
                " kurier {courier} odbierze uszkodzony przy doręczeniu — nic nie musisz pakować.",
                "Dziękujemy za zdjęcia. Zgłosiliśmy szkodę u {courier} (numer szkody {rma}). Nowe koło"
                " wyślemy ekspresowo na nasz koszt.",
                "Brakujący element dosyłamy osobną przesyłką, numer {tracking}. Sprawdzimy też, co stało się na magazynie.",
            ),
            closing_replies=(
                "Nowy egzemplarz został doręczony, a uszkodzony odebrany. Jeszcze raz przepraszamy.",
                "Szkoda została rozliczona z przewoźnikiem — Ty nie ponosisz żadnych kosztów.",
                "Brakujący element został doręczony. Przepraszamy za kłopot!",
            ),
            notes=(
                "{mention} zgłoś proszę szkodę w panelu {courier}, zdjęcia są w wiadomości klienta.",
                "Trzeci uszkodzony rower od {courier} w tym miesiącu. {mention} może zmieńmy opakowania na podwójny karton?",
            ),
            thanks=(
                "Nowy rower dotarł cały, dziękuję za błyskawiczną reakcję!",
                "Dziękuję, wszystko załatwione.",
            ),
        ),
        en=Lines(
            subjects=("Parcel arrived damaged – order {order}", "Bike arrived damaged"),
            openings=(
                "The box for order {order} arrived torn and the {product} is scratched. The {courier} driver wouldn't write a damage report.",
                "The bike arrived with a bent wheel and a snapped brake cable. Photos attached. Order {order}.",
            ),
            follow_ups=("Should I send the damage report photo?",),
            replies=(
                "We're so sorry! We'll ship a replacement today and {courier} will collect the damaged one on delivery — no packing needed.",
                "Thanks for the photos. We've filed a damage claim with {courier} (claim {rma}) and will send a new wheel by express at our cost.",
            ),
            closing_replies=(
                "The replacement has been delivered and the damaged item collected. Apologies again.",
            ),
            notes=(
                "{mention} please file the damage claim in the {courier} portal, photos are in the customer's message.",
            ),
            thanks=("The new bike arrived in one piece, thank you for the quick help!",),
        ),
    ),
    Topic(
        key="payment",
        tags=("płatność",),
        team="support",
        priorities=(0, 4, 5, 1),
        weight=5,
        pl=Lines(
            subjects=(
                "Płatność pobrana dwa razy",
                "Zamówienie {order} nieopłacone mimo płatności",
                "Problem z płatnością BLIK",
            ),
            openings=(
                "Zapłaciłem BLIKIEM za zamówienie {order}, pieniądze zeszły z konta, a w sklepie zamówienie"
                " ma status „nieopłacone”. Co się dzieje?",
                "Za zamówienie {order} pobrano ode mnie dwa razy {amount}! Proszę o pilny zwrot nadpłaty.",
                "Płatność kartą za {product_acc} zostaje odrzucona, choć karta działa w innych sklepach. Czy macie awarię?",
                "Chcę zapłacić za zamówienie {order} przelewem tradycyjnym. Na jaki numer konta?",
            ),
            follow_ups=(
                "Nadal nie widzę zwrotu. Bank mówi, że to po Waszej stronie.",
                "Czy zamówienie zostanie wysłane, skoro jest już opłacone?",
            ),
            replies=(
                "Sprawdziliśmy u operatora płatności — wpłata za zamówienie {order} dotarła, ale status nie"
                " zaktualizował się automatycznie. Poprawiliśmy go ręcznie, zamówienie idzie do wysyłki.",
                "Rzeczywiście, płatność została pobrana podwójnie. Zleciliśmy zwrot {amount}; bank zwykle"
                " księguje go w ciągu 3 dni roboczych.",
                "Operator płatności miał krótką awarię płatności kartą — już działa. Możesz też zapłacić"
                " BLIK-iem lub przelewem; link do płatności wysłaliśmy e-mailem.",
                "Nasz numer konta: 12 1020 2892 0000 5402 0123 4567, w tytule proszę wpisać {order}. Zamówienie wyślemy po zaksięgowaniu wpłaty.",
            ),
            closing_replies=(
                "Zamówienie {order} zostało wysłane, numer przesyłki {tracking}.",
                "Zwrot {amount} został zaksięgowany przez operatora. Przepraszamy za kłopot!",
                "Płatność dotarła, zamówienie {order} jest już w drodze ({tracking}).",
                "Wpłata zaksięgowana — zamówienie {order} wysłaliśmy kurierem {courier}.",
            ),
            notes=(
                "{mention} kolejny przypadek, gdy płatność BLIK nie zmienia statusu zamówienia. Zgłosisz to operatorowi?",
                "Podwójne obciążenie potwierdzone w panelu płatności. {mention} proszę o akceptację zwrotu {amount}.",
            ),
            thanks=("Zwrot jest na koncie, dziękuję.", "Dziękuję za szybkie wyjaśnienie!"),
        ),
        en=Lines(
            subjects=("Charged twice for order {order}", "Order shows unpaid"),
            openings=(
                "I was charged {amount} twice for order {order}! Please refund the extra payment urgently.",
                "I paid for order {order} but the shop still shows it as unpaid.",
            ),
            follow_ups=("Still no refund. My bank says it's on your side.",),
            replies=(
                "You're right, the payment was taken twice. We've refunded {amount}; banks usually post it within 3 working days.",
                "The payment for order {order} reached us but the status didn't update automatically. We've fixed it and the order is being packed.",
            ),
            closing_replies=(
                "The refund of {amount} has been confirmed by the payment provider. Sorry for the trouble!",
                "Order {order} is on its way, tracking {tracking}.",
            ),
            notes=(
                "{mention} double charge confirmed in the payment panel, please approve the refund of {amount}.",
            ),
            thanks=("Refund received, thank you.", "Thanks for sorting it out!"),
        ),
    ),
    Topic(
        key="service",
        kinds=("bike",),
        tags=("serwis",),
        team="support",
        priorities=(3, 6, 1, 0),
        weight=4,
        pl=Lines(
            subjects=("Przegląd roweru – termin", "Pierwszy bezpłatny przegląd", "Serwis hamulców"),
            openings=(
                "Kupiłem u Was {product_acc} {days} dni temu. Kiedy mogę przyjechać na darmowy przegląd"
                " gwarancyjny do sklepu w Krakowie?",
                "Hamulce tarczowe piszczą przy każdym hamowaniu. Czy mogę umówić serwis na przyszły tydzień?",
                "Czy w ramach przeglądu wymieniacie też łańcuch, czy to płatne osobno?",
            ),
            follow_ups=("Czy wtorek po 17:00 jest możliwy?", "Ile potrwa serwis?"),
            replies=(
                "Zapraszamy! Wolne terminy w serwisie: wtorek 10:00, czwartek 16:30 albo sobota 9:00. Który pasuje?",
                "Piszczenie to najczęściej zabrudzone klocki — poprawimy to od ręki. Wolne terminy: wtorek 10:00 albo czwartek 16:30.",
                "Pierwszy przegląd po zakupie jest bezpłatny; wymiana łańcucha to 40 zł plus część. Zwykle trwa to 1–2 dni.",
            ),
            closing_replies=(
                "Zarezerwowaliśmy termin. Do zobaczenia w serwisie!",
                "Rower jest gotowy do odbioru.",
            ),
            notes=("{mention} wpisz proszę klienta do kalendarza serwisu na czwartek.",),
            thanks=("Dziękuję, będę.", "Super, do zobaczenia!"),
        ),
        en=Lines(
            subjects=("Bike service appointment", "Free first service"),
            openings=(
                "I bought the {product} from you {days} days ago. When can I bring it in for the free first service?",
                "My disc brakes squeal every time I brake. Can I book a service next week?",
            ),
            follow_ups=("Would Tuesday after 5 pm work?",),
            replies=(
                "Happy to help! Free slots: Tuesday 10:00, Thursday 16:30 or Saturday 9:00. Which one suits you?",
            ),
            closing_replies=("You're booked in. See you at the workshop!",),
            notes=("{mention} please add the customer to the workshop calendar for Thursday.",),
            thanks=("Thanks, see you then.",),
        ),
    ),
    Topic(
        key="availability",
        tags=(),
        team="support",
        priorities=(4, 5, 0, 0),
        weight=4,
        pl=Lines(
            subjects=("Dostępność – {product}", "Kiedy dostawa {product}?", "Pytanie o produkt"),
            openings=(
                "Czy {product} będzie jeszcze dostępny w rozmiarze {size}? Na stronie widzę „brak w magazynie”.",
                "Jaka jest różnica między {product_acc} a wersją z zeszłego roku? Zastanawiam się nad zakupem.",
                "Czy mogę odebrać {product_acc} osobiście w sklepie w Krakowie, żeby nie płacić za wysyłkę?",
            ),
            follow_ups=("Czy mogę go zarezerwować?", "A czy jest możliwość zakupu na raty?"),
            replies=(
                "Dostawa od producenta jest planowana za ok. 2 tygodnie. Możemy powiadomić Cię mailem, gdy tylko produkt wróci.",
                "Tegoroczna wersja jest lżejsza i ma lepsze wykończenie; cena różni się o {amount}. Chętnie pomożemy wybrać.",
                "Tak, odbiór osobisty w sklepie przy ul. Składowej 12 jest bezpłatny — wybierz go w koszyku jako sposób dostawy.",
            ),
            closing_replies=(
                "Produkt jest już dostępny — zarezerwowaliśmy jedną sztukę dla Ciebie na 3 dni.",
                "Daj znać, gdyby pojawiły się jeszcze pytania — chętnie doradzimy.",
                "Zamówienie czeka na odbiór w sklepie przy ul. Składowej 12, zapraszamy!",
            ),
            notes=("{mention} wiesz może, kiedy przychodzi dostawa od producenta?",),
            thanks=("Dziękuję za informację!", "Dzięki, zamówię."),
        ),
        en=Lines(
            subjects=("Availability – {product}", "Question about a product"),
            openings=(
                "Will the {product} be back in stock in size {size}? The website says 'out of stock'.",
                "Do you ship the {product} to Germany? How much would delivery cost?",
            ),
            follow_ups=("Can I reserve one?",),
            replies=(
                "The next delivery from the manufacturer is expected in about 2 weeks. We can email you as soon as it's back.",
                "Yes, we ship to Germany with DHL; delivery is {amount} and takes 3–5 working days.",
            ),
            closing_replies=(
                "It's back in stock — we've reserved one for you for 3 days.",
                "Your order has shipped with DHL, tracking {tracking}.",
            ),
            notes=("{mention} do you know when the next delivery is due?",),
            thanks=("Thanks for the info!",),
        ),
    ),
)
