"""Who works at the demo shop and who writes to it."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Role

SHOP_NAME = "Rowerownia"
SHOP_SLUG = "rowerownia"
STAFF_DOMAIN = "rowerownia.example"
# Every demo member signs in with this password (printed by `frontdesk demo`).
DEMO_PASSWORD = "rowerownia-demo"  # noqa: S105 - published on purpose: it is a demo


@dataclass(frozen=True)
class Staff:
    email: str
    name: str
    role: str
    # "support" (Obsługa klienta), "returns" (Zwroty i reklamacje), both, or none.
    teams: tuple[str, ...]
    languages: tuple[str, ...] = ("pl", "en")


STAFF = (
    Staff(f"katarzyna@{STAFF_DOMAIN}", "Katarzyna Wiśniewska", Role.OWNER, ()),
    Staff(f"tomasz@{STAFF_DOMAIN}", "Tomasz Zieliński", Role.ADMIN, ()),
    Staff(f"magdalena@{STAFF_DOMAIN}", "Magdalena Krawczyk", Role.SUPERVISOR, ("support", "returns")),
    Staff(f"piotr@{STAFF_DOMAIN}", "Piotr Lewandowski", Role.AGENT, ("support",)),
    Staff(f"anna@{STAFF_DOMAIN}", "Anna Kamińska", Role.AGENT, ("support",)),
    Staff(f"emily@{STAFF_DOMAIN}", "Emily Carter", Role.AGENT, ("support",), ("en", "pl")),
    Staff(f"michal@{STAFF_DOMAIN}", "Michał Wójcik", Role.AGENT, ("returns",)),
    Staff(f"zuzanna@{STAFF_DOMAIN}", "Zuzanna Dąbrowska", Role.AGENT, ("returns", "support")),
)

TEAMS = {
    "support": ("Obsługa klienta", "Pytania o zamówienia, dostawy, płatności i faktury."),
    "returns": (
        "Zwroty i reklamacje",
        "Zwroty w 14 dni, reklamacje, uszkodzone przesyłki, wymiana rozmiaru.",
    ),
}

TAGS = (
    ("dostawa", "#2563eb"),
    ("zwrot", "#d97706"),
    ("reklamacja", "#dc2626"),
    ("faktura", "#4b5563"),
    ("kod rabatowy", "#7c3aed"),
    ("płatność", "#0891b2"),
    ("rozmiar", "#db2777"),
    ("uszkodzenie", "#b91c1c"),
    ("serwis", "#059669"),
    ("vip", "#ca8a04"),
)

# Polish first names with their grammatical gender; surnames in masculine form, feminised below.
POLISH_WOMEN = (
    "Agnieszka",
    "Aleksandra",
    "Alicja",
    "Barbara",
    "Beata",
    "Dominika",
    "Dorota",
    "Ewa",
    "Ewelina",
    "Gabriela",
    "Hanna",
    "Iwona",
    "Joanna",
    "Julia",
    "Justyna",
    "Karolina",
    "Kinga",
    "Lena",
    "Łucja",
    "Maja",
    "Małgorzata",
    "Marta",
    "Monika",
    "Natalia",
    "Oliwia",
    "Patrycja",
    "Renata",
    "Sylwia",
    "Weronika",
    "Wiktoria",
    "Zofia",
    "Żaneta",
)
POLISH_MEN = (
    "Adam",
    "Adrian",
    "Andrzej",
    "Bartosz",
    "Damian",
    "Dawid",
    "Filip",
    "Grzegorz",
    "Hubert",
    "Igor",
    "Jakub",
    "Jan",
    "Jarosław",
    "Kacper",
    "Kamil",
    "Krzysztof",
    "Łukasz",
    "Maciej",
    "Marcin",
    "Mateusz",
    "Mikołaj",
    "Norbert",
    "Oskar",
    "Paweł",
    "Przemysław",
    "Rafał",
    "Robert",
    "Sebastian",
    "Szymon",
    "Wojciech",
    "Zbigniew",
)
POLISH_SURNAMES = (
    "Nowak",
    "Kowalski",
    "Wiśniewski",
    "Wójcik",
    "Kowalczyk",
    "Kamiński",
    "Lewandowski",
    "Zieliński",
    "Szymański",
    "Woźniak",
    "Dąbrowski",
    "Kozłowski",
    "Jankowski",
    "Mazur",
    "Kwiatkowski",
    "Krawczyk",
    "Piotrowski",
    "Grabowski",
    "Nowakowski",
    "Pawłowski",
    "Michalski",
    "Król",
    "Wieczorek",
    "Jabłoński",
    "Wróbel",
    "Majewski",
    "Olszewski",
    "Stępień",
    "Malinowski",
    "Jaworski",
    "Adamczyk",
    "Dudek",
    "Nowicki",
    "Pawlak",
    "Górski",
    "Witkowski",
    "Walczak",
    "Sikora",
    "Baran",
    "Rutkowski",
    "Michalak",
    "Szewczyk",
    "Ostrowski",
    "Tomaszewski",
    "Pietrzak",
    "Zalewski",
    "Wróblewski",
    "Jasiński",
    "Zawadzki",
    "Bąk",
    "Sadowski",
    "Chmielewski",
    "Włodarczyk",
    "Borkowski",
    "Czarnecki",
    "Sawicki",
    "Sokołowski",
    "Urbański",
    "Kubiak",
    "Maciejewski",
    "Szczepański",
    "Kucharski",
    "Wilk",
    "Kalinowski",
    "Lis",
    "Mazurek",
    "Wysocki",
    "Adamski",
    "Kaźmierczak",
    "Wasilewski",
    "Sobczak",
    "Czerwiński",
    "Andrzejewski",
    "Cieślak",
    "Głowacki",
    "Zakrzewski",
    "Kołodziej",
    "Sikorski",
    "Krajewski",
    "Gajewski",
    "Szulc",
    "Żak",
    "Łuczak",
    "Gołębiowski",
    "Ślusarczyk",
)
ENGLISH_WOMEN = (
    "Amelia",
    "Charlotte",
    "Chloe",
    "Emma",
    "Grace",
    "Hannah",
    "Isabel",
    "Jessica",
    "Laura",
    "Lucy",
    "Megan",
    "Olivia",
    "Rachel",
    "Sarah",
    "Sophie",
)
ENGLISH_MEN = (
    "Adam",
    "Ben",
    "Daniel",
    "David",
    "George",
    "Harry",
    "Jack",
    "James",
    "Liam",
    "Matthew",
    "Noah",
    "Oliver",
    "Ryan",
    "Thomas",
    "William",
)
ENGLISH_SURNAMES = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Murphy",
    "O'Connor",
    "Fischer",
    "Müller",
    "Novák",
    "Schneider",
    "Dubois",
    "Rossi",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "poczta.example", "skrzynka.example")


def feminine(surname: str) -> str:
    """Kowalski → Kowalska, Zieliński → Zielińska, Nowak → Nowak."""
    for ending, replacement in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
        if surname.endswith(ending):
            return surname[: -len(ending)] + replacement
    return surname
