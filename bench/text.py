"""Realistic shop-support text for the benchmarks, in Polish and English, deterministic by seed.

Words are drawn from a vocabulary with a Zipf-like distribution (word of rank r has weight
1 / (r + 2) ** 1.05), as in real text: a few words are in most messages, most words are rare. That
shape is what a full-text index and its queries feel, so the search benchmark picks its common,
medium and rare words by rank (`search_words`) and the documents that contain them are as many as
in real mail of this size. Sentences start from openings a customer or an agent really writes, so
snippets and the conversation page look like a help desk, not like noise.

Used by bench/dataset.py (conversations at 10k–1M), bench/corpus.py (the RFC 822 corpus) and the
peer's loader, which imports it by path (stdlib only, so it runs in any virtual environment).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

# Ordered roughly by how often a shop's customers and agents use them: the rank is the frequency.
WORDS = {
    "pl": (
        "zamówienie zamówienia paczka przesyłka dostawa kurier zwrot numer faktura rower dzień dobry "
        "proszę dziękuję pozdrawiam czy kiedy gdzie jeszcze status płatność przelew karta sklep "
        "produkt rozmiar kolor koszyk adres dostawy paczkomat termin wysyłka wysłać otrzymałem "
        "otrzymałam zamówiłem zamówiłam problem pomoc reklamacja uszkodzony uszkodzona wymiana "
        "gwarancja naprawa serwis części opona dętka łańcuch hamulec hamulce siodełko kierownica "
        "pedały koło koła rama przerzutka licznik lampka kask bidon pompka zapięcie bagażnik "
        "błotnik sakwy rękawiczki koszulka spodenki buty rozmiarówka kurtka odbiór osobisty "
        "magazyn dostępność dostępny niedostępny przedsprzedaż rabat kod rabatowy promocja cena "
        "koszt zwrotu pieniędzy środki konto logowanie hasło rejestracja newsletter regulamin "
        "odstąpienie umowy formularz etykieta list przewozowy śledzenie opóźnienie pilne prośba "
        "informacja potwierdzenie mail telefon kontakt poniedziałek wtorek środa czwartek piątek "
        "sobota niedziela tydzień miesiąc wczoraj dzisiaj jutro rano wieczorem godzina minut "
        "paragon korekta nip firma osoba prywatna raty leasing dopłata pobranie gotówka blik "
        "zwrócić wymienić anulować anulowanie zmiana adresu przesunięcie terminu uszkodzenie "
        "transport karton opakowanie folia rysa wgniecenie pęknięcie brakuje brak elementu "
        "instrukcja montaż montażu regulacja centrowanie smarowanie przegląd sezonowy "
        "amortyzator widelec sztyca suport piasta szprychy obręcz kaseta korba zębatka manetka "
        "linka pancerz klocki tarcza zacisk hydrauliczne mechaniczne karbonowa aluminiowa "
        "elektryczny akumulator ładowarka silnik wspomaganie zasięg bateria wyświetlacz "
        "aplikacja aktualizacja oprogramowanie błąd usterka diagnoza zdjęcie zdjęcia film "
        "nagranie załącznik załączam przesyłam odpowiedź czekam pozostaję oczekuję uprzejmie "
        "szanowni państwo witam cześć halo niestety niezadowolony rozczarowany świetnie super "
        "polecam opinia recenzja ocena gwiazdki komentarz sugestia pomysł propozycja "
        "tandemowy poziomka trójkołowiec bambusowy retro kolarzówka szosowy gravel enduro "
        "hulajnoga przyczepka fotelik dziecięcy dziecko córka syn prezent urodziny święta "
        "wigilia majówka wakacje urlop wyjazd górski trasa szlak maraton zawody"
    ).split(),
    "en": (
        "order the package delivery courier return number invoice bike hello please thanks "
        "regards when where still status payment transfer card shop product size colour basket "
        "address shipping locker date dispatch sent received ordered problem help complaint "
        "damaged replacement warranty repair service parts tyre tube chain brake brakes saddle "
        "handlebar pedals wheel wheels frame derailleur computer light helmet bottle pump lock "
        "rack mudguard panniers gloves jersey shorts shoes sizing jacket pickup warehouse stock "
        "available unavailable preorder discount code promotion price cost refund money account "
        "login password registration newsletter terms withdrawal form label waybill tracking "
        "delay urgent request information confirmation email phone contact monday tuesday "
        "wednesday thursday friday saturday sunday week month yesterday today tomorrow morning "
        "evening hour minutes receipt correction vat company private instalments leasing "
        "surcharge cash cancel cancellation change postpone transport box packaging scratch dent "
        "crack missing part manual assembly adjustment truing lubrication inspection seasonal "
        "suspension fork seatpost bottom bracket hub spokes rim cassette crank chainring shifter "
        "cable housing pads rotor caliper hydraulic mechanical carbon aluminium electric battery "
        "charger motor assist range display app update firmware error fault diagnosis photo "
        "photos video attachment attached reply waiting sincerely dear madam sir hi unfortunately "
        "disappointed great recommend review rating stars comment suggestion idea proposal "
        "tandem recumbent tricycle bamboo vintage roadbike gravel enduro scooter trailer seat "
        "child daughter son gift birthday christmas holiday trip mountain route trail marathon "
        "race velodrome penny-farthing unicycle"
    ).split(),
}

OPENINGS = {
    "pl": (
        "Dzień dobry, ",
        "Witam, ",
        "Szanowni Państwo, ",
        "Cześć, ",
        "Dzień dobry, piszę w sprawie zamówienia ",
        "Mam pytanie: ",
        "Niestety ",
        "Dziękuję za odpowiedź, ",
    ),
    "en": (
        "Hello, ",
        "Hi, ",
        "Dear team, ",
        "Good morning, ",
        "I am writing about order ",
        "Quick question: ",
        "Unfortunately ",
        "Thanks for getting back to me, ",
    ),
}
CLOSINGS = {
    "pl": ("Pozdrawiam", "Z poważaniem", "Dziękuję", "Czekam na odpowiedź"),
    "en": ("Regards", "Best wishes", "Thanks", "Kind regards"),
}
LANGUAGES = ("pl", "en")


def _cumulative(words: Sequence[str]) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank + 2) ** 1.05 for rank in range(len(words))))


_CUMULATIVE = {lang: _cumulative(words) for lang, words in WORDS.items()}


def search_words(lang: str) -> dict[str, str]:
    """One common, one medium and one rare word of the language, by rank (stable across runs)."""
    words = WORDS[lang]
    return {"common": words[0], "medium": words[len(words) // 8], "rare": words[-3]}


class TextMaker:
    """Sentences, subjects and names from one seeded random source."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def words(self, lang: str, count: int) -> list[str]:
        return self.rng.choices(WORDS[lang], cum_weights=_CUMULATIVE[lang], k=count)

    def sentence(self, lang: str) -> str:
        words = self.words(lang, self.rng.randint(5, 14))
        return words[0].capitalize() + " " + " ".join(words[1:]) + self.rng.choice((".", ".", ".", "?", "!"))

    def subject(self, lang: str) -> str:
        words = self.words(lang, self.rng.randint(2, 6))
        return " ".join(words).capitalize()

    def message(self, lang: str, *, sentences: tuple[int, int] = (2, 8), order: str = "") -> str:
        """A customer's or an agent's message: an opening, sentences, sometimes an order number."""
        rng = self.rng
        opening = rng.choice(OPENINGS[lang])
        body = [self.sentence(lang) for _ in range(rng.randint(*sentences))]
        if order:
            body.insert(rng.randrange(len(body) + 1), order)
        return opening + " ".join(body) + "\n\n" + rng.choice(CLOSINGS[lang])

    def language(self) -> str:
        # A Polish shop: most customers write Polish, a third English.
        return "pl" if self.rng.random() < 0.67 else "en"
