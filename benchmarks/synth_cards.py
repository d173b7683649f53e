"""Synthetic business cards with their truth: unseen cards for the card-scan benchmark.

    python -m benchmarks.synth_cards --n 20 --seed 1 --out /tmp/cards   # PNG/JPEG files + truth.jsonl
    python -m benchmarks.scan_cards --synthetic 60 --seed 1             # score them

Each card is drawn with Pillow from seeded random content that shares nothing with the card
fixtures: people from several cultures (diacritics, particles such as "van der" or "de la"),
job titles, companies with national legal suffixes, one or two emails, phones in several national
formats with labels, websites with and without ``www``, addresses in ten countries. Layouts:
left, centred, right, two columns, a logo block, a coloured band with light text, a vertical
accent bar, a dark card. Then a photographic degradation: a small rotation, a photo on a table
(perspective, shadow, uneven light), blur, noise, JPEG compression.

The truth follows ``shared/fixtures/cards/README.md`` (``printed`` boxes are in card pixels,
before degradation). Only fonts installed on the machine are used (DejaVu by default). The same
``(seed, index)`` always gives the same card: everything random comes from one generator per card.
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import math
import random
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import phonenumbers
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# ---------------------------------------------------------------------------------------------
# Fonts: what is installed, never downloaded

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")


@lru_cache(maxsize=1)
def _font_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for root in FONT_DIRS:
        for path in glob.glob(f"{root}/**/*.ttf", recursive=True):
            files[Path(path).stem] = path
    return files


# (regular, bold) pairs by family; only those installed are used.
FAMILIES = (
    ("DejaVuSans", "DejaVuSans-Bold"),
    ("DejaVuSansCondensed", "DejaVuSansCondensed-Bold"),
    ("DejaVuSerif", "DejaVuSerif-Bold"),
    ("DejaVuSerifCondensed", "DejaVuSerifCondensed-Bold"),
    ("LiberationSans-Regular", "LiberationSans-Bold"),
    ("LiberationSerif-Regular", "LiberationSerif-Bold"),
    ("FreeSans", "FreeSansBold"),
    ("FreeSerif", "FreeSerifBold"),
)


def families() -> list[tuple[str, str]]:
    """Installed (regular, bold) font files."""
    files = _font_files()
    found = [(files[r], files[b]) for r, b in FAMILIES if r in files and b in files]
    if not found:
        raise SystemExit("no usable TrueType fonts found under /usr/share/fonts (DejaVu or Liberation)")
    return found


@lru_cache(maxsize=256)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


# ---------------------------------------------------------------------------------------------
# Content

GIVEN = {
    "en": ["Oliver", "Charlotte", "Harriet", "Callum", "Imogen", "Declan", "Bethany", "Rowan", "Felicity"],
    "de": ["Jürgen", "Käthe", "Lukas", "Friederike", "Matthias", "Sören", "Annika", "Torsten", "Jörg"],
    "fr": ["Amélie", "Jérôme", "Hélène", "Benoît", "Céline", "Gaëlle", "Thibault", "Anaïs", "Loïc"],
    "nl": ["Maarten", "Sanne", "Joost", "Femke", "Bram", "Lieke", "Daan", "Anouk"],
    "es": ["Alejandro", "Lucía", "Íñigo", "Begoña", "Álvaro", "Nerea", "Martín", "Inés"],
    "pt": ["João", "Conceição", "Gonçalo", "Leonor", "Thiago", "Luíza", "Rafaela", "Caio"],
    "it": ["Giulia", "Niccolò", "Chiara", "Lorenzo", "Beatrice", "Matteo", "Federica"],
    "pl": ["Małgorzata", "Wojciech", "Agnieszka", "Paweł", "Zofia", "Bartosz"],
    "nordic": ["Åsa", "Bjørn", "Sigrid", "Henrik", "Elin", "Jens", "Ingrid"],
    "jp": ["Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina", "Kenji", "Mai"],
    "in": ["Arjun", "Ananya", "Rohan", "Kavya", "Vikram", "Shreya"],
    "ng": ["Chinedu", "Ngozi", "Oluwaseun", "Adaeze", "Emeka", "Funmilayo"],
    "ar": ["Omar", "Layla", "Yusuf", "Samira", "Karim", "Nadia"],
}
FAMILY = {
    "en": [
        "Whitfield",
        "Ashworth",
        "Pennington",
        "Holloway",
        "Fairbairn",
        "Calloway",
        "Radcliffe",
        "Kingsley",
    ],
    "de": ["Schröder", "Weißmann", "Köhler", "Brandstätter", "Hoffmann", "Krüger", "von Arnim", "Lindemann"],
    "fr": ["Lefébure", "Morin", "Girard", "de la Croix", "Beaulieu", "Rousseau", "Chevalier", "Fournier"],
    "nl": ["van der Meer", "de Vries", "Jansen", "van den Broek", "Bakker", "Visser", "de Graaf"],
    "es": ["García", "de la Fuente", "Muñoz", "Ibáñez", "Domínguez", "del Río", "Navarro"],
    "pt": ["Gonçalves", "dos Santos", "Araújo", "Magalhães", "Carvalho", "da Silva", "Rocha"],
    "it": ["Bianchi", "Esposito", "Colombo", "di Stefano", "Ricci", "Marchetti", "De Luca"],
    "pl": ["Wiśniewski", "Kowalczyk", "Zieliński", "Wójcik", "Lewandowska", "Szymańska"],
    "nordic": ["Lindström", "Sørensen", "Åberg", "Johansson", "Nyström", "Halvorsen"],
    "jp": ["Yamamoto", "Takahashi", "Nakamura", "Kobayashi", "Watanabe", "Fujimoto"],
    "in": ["Raghunathan", "Iyer", "Chatterjee", "Deshpande", "Malhotra", "Kulkarni"],
    "ng": ["Okonkwo", "Adeyemi", "Eze", "Balogun", "Nwosu", "Ogunleye"],
    "ar": ["Al-Rashid", "Haddad", "El-Amin", "Mansour", "Khalil", "Nasser"],
}
TITLES = [
    "Head of Partnerships",
    "Software Engineer",
    "Key Account Manager",
    "Marketing Director",
    "Chief Financial Officer",
    "Project Manager",
    "Founder & CEO",
    "Sales Representative",
    "Business Development Manager",
    "Art Director",
    "Operations Lead",
    "Data Scientist",
    "Customer Success Manager",
    "Senior Architect",
    "Legal Counsel",
    "Procurement Officer",
    "Lead UX Researcher",
    "Product Owner",
    "Office Manager",
    "Head of Engineering",
    "Vice President, Sales",
    "Technical Director",
    "Research Scientist",
    "Account Executive",
    "Managing Partner",
    "Creative Director",
    "Quality Assurance Engineer",
    "Supply Chain Analyst",
    "Brand Strategist",
    "Executive Assistant",
]
LOCAL_TITLES = {
    "de": ["Geschäftsführer", "Vertriebsleiterin", "Projektleiter", "Prokurist"],
    "fr": ["Directeur Général", "Chargée de Communication", "Responsable Commercial"],
    "es": ["Director Comercial", "Gerente de Ventas", "Jefa de Proyecto"],
    "pt": ["Diretor Comercial", "Gerente de Projetos", "Analista de Sistemas"],
    "it": ["Direttore Tecnico", "Responsabile Vendite"],
    "nl": ["Directeur", "Accountmanager", "Projectleider"],
}
COMPANY_STEMS = [
    "Northwind",
    "Brightforge",
    "Kestrel",
    "Alderbrook",
    "Copperfield",
    "Silverline",
    "Quayside",
    "Marigold",
    "Halcyon",
    "Ironbridge",
    "Tidewater",
    "Saffron",
    "Bluestone",
    "Larkspur",
    "Westgate",
    "Oakmere",
    "Pinecrest",
    "Stillwater",
    "Granite Peak",
    "Juniper",
    "Falconer",
    "Wrenfield",
    "Corvid",
    "Amberly",
    "Thornbury",
    "Nimbus",
    "Solstice",
    "Vantage Point",
    "Helix",
    "Keystone",
]
LOCAL_STEMS = {
    "de": ["Rheinwerk", "Bergmann", "Elbtal", "Sonnenfeld"],
    "fr": ["Maison Lefort", "Atelier Sauvage", "Belle Rive"],
    "es": ["Estudio Sol", "Olivar", "Costa Brava"],
    "pt": ["Vila Nova", "Horizonte", "Ipê Amarelo"],
    "it": ["Fratelli Conti", "Vetro Blu", "Monte Verde"],
    "nl": ["Van Dijk", "Noordzee", "Tulpenveld"],
    "jp": ["Sakura", "Hoshino", "Fujiyama"],
}
INDUSTRIES = [
    "Logistics",
    "Architects",
    "Consulting",
    "Engineering",
    "Software",
    "Dental Care",
    "Media",
    "Robotics",
    "Foods",
    "Legal",
    "Capital",
    "Design",
    "Analytics",
    "Optics",
    "Textiles",
    "Acoustics",
    "Biotech",
    "Ceramics",
    "Outfitters",
    "Health",
    "Systems",
    "Energy",
    "",
    "",
]

STREETS_EN = ["Harbour", "Kingsway", "Chestnut", "Willow", "Maple", "Station", "Victoria", "Highfield"]


@dataclass
class Country:
    code: str
    langs: tuple[str, ...]
    suffixes: tuple[str, ...]
    tlds: tuple[str, ...]
    country_names: tuple[str, ...]
    phone_labels: tuple[str, ...]


COUNTRIES = {
    "US": Country(
        "US",
        ("en", "in", "ng", "es", "ar"),
        ("Inc.", "LLC", "Corp.", "Co.", ""),
        ("com", "io", "us"),
        ("USA", "United States"),
        ("Tel", "Phone", "Office", "Mobile", "Cell", "Direct", "Fax"),
    ),
    "CA": Country(
        "CA",
        ("en", "fr", "in"),
        ("Inc.", "Ltd.", "Corp."),
        ("ca", "com"),
        ("Canada",),
        ("Tel", "Phone", "Cell", "Office", "Fax"),
    ),
    "GB": Country(
        "GB",
        ("en", "in", "pl", "ng"),
        ("Ltd", "Ltd.", "Limited", "LLP", "plc", ""),
        ("co.uk", "com", "uk"),
        ("United Kingdom", "UK"),
        ("Tel", "T", "M", "Mob", "Mobile", "Office", "DDI"),
    ),
    "DE": Country(
        "DE",
        ("de", "pl", "en", "ar"),
        ("GmbH", "AG", "GmbH & Co. KG", "UG", "SE"),
        ("de", "com", "eu"),
        ("Germany", "Deutschland"),
        ("Tel.", "Telefon", "Mobil", "Handy", "Fax", "T", "M"),
    ),
    "FR": Country(
        "FR",
        ("fr", "ar", "en"),
        ("SAS", "SARL", "SA", ""),
        ("fr", "com", "eu"),
        ("France",),
        ("Tél.", "Tel", "Mob.", "Portable", "Fax", "T", "M"),
    ),
    "NL": Country(
        "NL",
        ("nl", "en", "de"),
        ("B.V.", "BV", "N.V.", ""),
        ("nl", "com", "eu"),
        ("Netherlands", "Nederland", "The Netherlands"),
        ("Tel", "T", "M", "Mob", "Mobiel"),
    ),
    "ES": Country(
        "ES",
        ("es", "en"),
        ("S.L.", "S.A.", "SL"),
        ("es", "com"),
        ("Spain", "España"),
        ("Tel.", "Tlf.", "Móvil", "Mob", "T", "M"),
    ),
    "IT": Country(
        "IT",
        ("it", "en"),
        ("S.r.l.", "S.p.A.", "Srl"),
        ("it", "com"),
        ("Italy", "Italia"),
        ("Tel.", "Cell.", "Mob", "T", "M"),
    ),
    "BR": Country(
        "BR",
        ("pt",),
        ("Ltda.", "S.A.", "Ltda"),
        ("com.br", "com"),
        ("Brasil", "Brazil"),
        ("Tel.", "Cel.", "Fone", "WhatsApp", "T", "M"),
    ),
    "JP": Country(
        "JP",
        ("jp", "en"),
        ("K.K.", "Co., Ltd.", "Inc."),
        ("co.jp", "jp", "com"),
        ("Japan",),
        ("Tel", "Mobile", "Fax", "T", "M"),
    ),
    "AT": Country(
        "AT",
        ("de",),
        ("GmbH", "AG", "KG"),
        ("at", "com"),
        ("Austria", "Österreich"),
        ("Tel.", "Mobil", "T", "M"),
    ),
    "CH": Country(
        "CH",
        ("de", "fr", "it"),
        ("AG", "GmbH", "SA", "Sàrl"),
        ("ch", "com"),
        ("Switzerland", "Schweiz"),
        ("Tel.", "Mobile", "T", "M", "Direkt"),
    ),
}
WEIGHTS = {
    "US": 4,
    "GB": 3,
    "DE": 3,
    "FR": 2,
    "NL": 2,
    "ES": 2,
    "IT": 1,
    "BR": 2,
    "JP": 2,
    "CA": 1,
    "AT": 1,
    "CH": 1,
}


def _address(rng: random.Random, c: Country) -> list[str]:
    n = rng.randint(2, 480)
    code = c.code
    country = rng.choice(c.country_names)
    if code == "US":
        city, st, z = rng.choice(
            [
                ("Portland", "OR", 972),
                ("Denver", "CO", 802),
                ("Chicago", "IL", 606),
                ("Seattle", "WA", 981),
                ("Raleigh", "NC", 276),
                ("Phoenix", "AZ", 850),
                ("Columbus", "OH", 432),
                ("Nashville", "TN", 372),
            ]
        )
        street = (
            f"{n} {rng.choice(STREETS_EN)} {rng.choice(['Street', 'Avenue', 'Blvd', 'Road', 'Drive', 'St.'])}"
        )
        lines = [street]
        if rng.random() < 0.35:
            lines.append(f"Suite {rng.randint(100, 990)}")
        lines.append(f"{city}, {st} {z}{rng.randint(10, 99)}")
        if rng.random() < 0.25:
            lines.append(country)
        return lines
    if code == "CA":
        city, pr, fsa = rng.choice(
            [("Toronto", "ON", "M5V"), ("Vancouver", "BC", "V6B"), ("Montréal", "QC", "H2Y")]
        )
        return [
            f"{n} {rng.choice(STREETS_EN)} Street",
            f"{city}, {pr} {fsa} {rng.randint(1, 9)}K{rng.randint(1, 9)}",
            country,
        ]
    if code == "GB":
        city, pc = rng.choice(
            [
                ("London", "SE1"),
                ("Manchester", "M1"),
                ("Leeds", "LS1"),
                ("Bristol", "BS1"),
                ("Edinburgh", "EH2"),
            ]
        )
        lines = [f"{n} {rng.choice(STREETS_EN)} {rng.choice(['Road', 'Street', 'Lane', 'Place', 'Square'])}"]
        if rng.random() < 0.3:
            lines.insert(
                0,
                f"Unit {rng.randint(1, 30)}, {rng.choice(['Riverside House', 'The Old Mill', 'Quay Point'])}",
            )
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        lines.append(f"{city} {pc} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}")
        if rng.random() < 0.6:
            lines.append(country)
        return lines
    if code in {"DE", "AT", "CH"}:
        street = rng.choice(
            [
                "Lindenstraße",
                "Hauptstraße",
                "Bahnhofstraße",
                "Am Sandtorkai",
                "Schillerplatz",
                "Gartenweg",
                "Rosenheimer Str.",
            ]
        )
        city = {
            "DE": ["10115 Berlin", "80331 München", "20457 Hamburg", "50667 Köln"],
            "AT": ["1010 Wien", "8010 Graz"],
            "CH": ["8001 Zürich", "3011 Bern"],
        }[code]
        return [f"{street} {n}", rng.choice(city), country]
    if code == "FR":
        street = rng.choice(
            [
                "rue de la Paix",
                "avenue des Ternes",
                "boulevard Haussmann",
                "rue Sainte-Catherine",
                "quai de Bercy",
            ]
        )
        return [
            f"{n} {street}",
            rng.choice(["75008 Paris", "69002 Lyon", "33000 Bordeaux", "13001 Marseille"]),
            country,
        ]
    if code == "NL":
        street = rng.choice(
            ["Keizersgracht", "Prinsengracht", "Stationsplein", "Herengracht", "Damrak", "Coolsingel"]
        )
        letters = "ABCDEGHJKLMNPRSTVWXZ"
        pc = f"{rng.randint(1011, 3099)} {rng.choice(letters)}{rng.choice(letters)}"
        return [f"{street} {n}", f"{pc} {rng.choice(['Amsterdam', 'Rotterdam', 'Utrecht'])}", country]
    if code == "ES":
        street = rng.choice(
            ["Calle de Serrano", "Calle Mayor", "Avenida Diagonal", "Paseo de Gracia", "Calle de Velázquez"]
        )
        return [
            f"{street} {n}",
            rng.choice(["28001 Madrid", "08008 Barcelona", "46002 Valencia", "41001 Sevilla"]),
            country,
        ]
    if code == "IT":
        street = rng.choice(
            ["Via Roma", "Corso Buenos Aires", "Via Garibaldi", "Viale Monza", "Piazza Navona"]
        )
        return [
            f"{street} {n}",
            rng.choice(["20121 Milano", "00186 Roma", "10121 Torino", "50123 Firenze"]),
            country,
        ]
    if code == "BR":
        street = rng.choice(
            ["Av. Paulista", "Rua Augusta", "Rua das Flores", "Av. Atlântica", "Rua Oscar Freire"]
        )
        city = rng.choice(["São Paulo - SP", "Rio de Janeiro - RJ", "Curitiba - PR"])
        return [f"{street}, {n}", f"{city}, {rng.randint(10000, 89999)}-{rng.randint(100, 999)}", country]
    if code == "JP":
        ward = rng.choice(["Chiyoda-ku", "Minato-ku", "Shibuya-ku", "Chuo-ku"])
        return [
            f"{rng.randint(1, 5)}-{rng.randint(1, 20)}-{rng.randint(1, 30)} "
            f"{rng.choice(['Marunouchi', 'Akasaka', 'Jingumae', 'Nihonbashi'])}, {ward}",
            f"Tokyo {rng.randint(100, 199)}-{rng.randint(1000, 9999):04d}",
            country,
        ]
    raise AssertionError(code)


def _phone(rng: random.Random, region: str, mobile: bool) -> phonenumbers.PhoneNumber:
    kind = phonenumbers.PhoneNumberType.MOBILE if mobile else phonenumbers.PhoneNumberType.FIXED_LINE
    example = phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(region)
    assert example is not None
    national = str(example.national_number)
    for _ in range(200):
        keep = max(1, len(national) - rng.randint(4, 7))
        digits = national[:keep] + "".join(rng.choice("0123456789") for _ in range(len(national) - keep))
        if region in {"US", "CA"}:
            digits = digits[:3] + "555" + f"{rng.randint(100, 199):04d}"  # the fictional 555-01xx range
        number = phonenumbers.parse(digits, region)
        if phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == region:
            return number
    return example


def _phone_text(rng: random.Random, number: phonenumbers.PhoneNumber, national_ok: bool) -> str:
    region = phonenumbers.region_code_for_number(number)
    intl = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    nat = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    styles = ["intl", "intl_dots", "intl_plain"] + (["nat", "nat", "nat_alt"] if national_ok else [])
    if region in {"DE", "GB", "NL", "AT", "CH"}:
        styles.append("intl_trunk")
    style = rng.choice(styles)
    if style == "intl":
        return intl
    if style == "intl_dots":
        cc, _, rest = intl.partition(" ")
        return f"{cc} " + rest.replace(" ", ".").replace("-", ".")
    if style == "intl_plain":
        cc, _, rest = intl.partition(" ")
        return f"{cc} " + rest.replace("-", " ")
    if style == "intl_trunk":  # "+49 (0)30 1234567"
        cc, _, rest = intl.partition(" ")
        return f"{cc} (0){rest}"
    if style == "nat_alt":
        if region in {"US", "CA"}:
            d = str(number.national_number)
            return rng.choice([f"{d[:3]}.{d[3:6]}.{d[6:]}", f"{d[:3]}-{d[3:6]}-{d[6:]}"])
        return nat.replace(" ", "-") if region != "FR" else nat.replace(" ", ".")
    return nat


def _fold(text: str) -> str:
    text = text.replace("ß", "ss").replace("ø", "o").replace("Ø", "O").replace("ł", "l").replace("Ł", "L")
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _slug(text: str) -> str:
    return "".join(ch for ch in _fold(text).lower() if ch.isalnum())


@dataclass
class Content:
    given: str
    family: str
    name: str
    title: str | None
    company: str
    emails: list[str]
    phones: list[tuple[str, str, str]]  # (label, printed, e164)
    website: str | None
    website_printed: str | None
    address: list[str] | None
    address_one_line: bool
    country: str
    label_style: str
    extra: dict[str, Any] = field(default_factory=dict)


def make_content(rng: random.Random) -> Content:
    code = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
    c = COUNTRIES[code]
    lang = rng.choice(c.langs)
    given = rng.choice(GIVEN[lang])
    if rng.random() < 0.08 and lang in {"fr", "de"}:
        given = rng.choice(["Jean-Luc", "Anne-Marie", "Marie-Claire", "Karl-Heinz", "Hans-Peter"])
    family = rng.choice(FAMILY[lang])
    name = f"{given} {family}"
    title: str | None = None
    if rng.random() < 0.88:
        pool = TITLES + LOCAL_TITLES.get(lang, []) * 2
        title = rng.choice(pool)
    stem = rng.choice(COMPANY_STEMS + LOCAL_STEMS.get(lang, []) * 2)
    industry = rng.choice(INDUSTRIES)
    suffix = rng.choice(c.suffixes) if rng.random() < 0.75 else ""
    company = " ".join(p for p in (stem, industry, suffix) if p)
    if len(company.split()) == 1:
        company = f"{company} {rng.choice(['Group', 'Studio', 'Partners', 'Works'])}"
    tld = rng.choice(c.tlds)
    label = _slug(stem) if rng.random() < 0.6 or not industry else _slug(stem + industry)
    domain = f"{label}.{tld}"
    g, f = _slug(given), _slug(family)
    local = rng.choice([f"{g}.{f}", f"{g[0]}{f}", g, f"{g}_{f}", f"{g}{f[0]}", f"{g[0]}.{f}"])
    emails = [f"{local}@{domain}"]
    if rng.random() < 0.2:
        emails.append(f"{rng.choice(['info', 'hello', 'contact', 'office', 'sales'])}@{domain}")
    website: str | None = None
    website_printed: str | None = None
    if rng.random() < 0.8:
        www = rng.random() < 0.65
        path = rng.choice(["", "", "", "", "/team", f"/{g}"])
        website = ("www." if www else "") + domain + path
        website_printed = (
            rng.choice(["", "", "https://", "http://"]) + website
            if www
            else (rng.choice(["", "https://"]) + website)
        )
    address = _address(rng, c) if rng.random() < 0.72 else None
    country_known = address is not None or not (tld in {"com", "io", "eu"} or (tld == "us" and code != "US"))
    national_ok = code == "US" or country_known
    phones: list[tuple[str, str, str]] = []
    count = rng.choices([1, 2, 3], weights=[4, 5, 2])[0]
    labels = list(c.phone_labels)
    rng.shuffle(labels)
    for i in range(count):
        mobile = i == 1 or (count == 1 and rng.random() < 0.4)
        number = _phone(rng, code, mobile)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if e164 in {p[2] for p in phones}:
            continue
        phones.append((labels[i % len(labels)], _phone_text(rng, number, national_ok), e164))
    return Content(
        given=given,
        family=family,
        name=name,
        title=title,
        company=company,
        emails=emails,
        phones=phones,
        website=website,
        website_printed=website_printed,
        address=address,
        address_one_line=address is not None and rng.random() < 0.3,
        country=code,
        label_style=rng.choice(["colon", "colon", "plain", "letter", "none"]),
    )


def _contact_lines(rng: random.Random, c: Content) -> list[tuple[str, str]]:
    """(text, role) of the contact block, labelled in one of a few styles."""
    style = c.label_style
    out: list[tuple[str, str]] = []

    def lab(label: str, kind: str) -> str:
        if style == "none" and kind != "phone":
            return ""
        if style == "letter":
            first = label[:1].upper()
            phone_letter = "F" if first == "F" else "M" if first and first in "MHCPW" else "T"
            letter = {"email": "E", "web": "W"}.get(kind) or phone_letter
            return f"{letter}: " if rng.random() < 0.7 else f"{letter} "
        if style == "plain":
            return f"{label} " if kind == "phone" else ""
        word = {"email": rng.choice(["Email", "E-mail", "Mail"]), "web": rng.choice(["Web", "Website"])}.get(
            kind, label
        )
        return f"{word.rstrip('.')}: " if not word.endswith(".") else f"{word} "

    phones = c.phones
    if len(phones) >= 2 and rng.random() < 0.25:
        sep = rng.choice(["  |  ", "   ·   ", "    "])
        out.append((sep.join(lab(p[0], "phone") + p[1] for p in phones[:2]), "phone"))
        phones = phones[2:]
    for label, printed, _ in phones:
        out.append((lab(label, "phone") + printed, "phone"))
    mails = [(lab("", "email") + e, "email") for e in c.emails]
    web = [(lab("", "web") + c.website_printed, "website")] if c.website_printed else []
    addr: list[tuple[str, str]] = []
    if c.address:
        addr = (
            [(", ".join(c.address), "address")] if c.address_one_line else [(a, "address") for a in c.address]
        )
    order = rng.choice(
        [("p", "e", "w", "a"), ("a", "p", "e", "w"), ("e", "p", "w", "a"), ("p", "e", "a", "w")]
    )
    blocks = {"p": out, "e": mails, "w": web, "a": addr}
    return [line for key in order for line in blocks[key]]


# ---------------------------------------------------------------------------------------------
# Drawing

PALETTES = [  # (paper, ink, accent, light text on accent)
    ((255, 255, 255), (30, 30, 30), (20, 60, 120), (255, 255, 255)),
    ((250, 247, 240), (45, 40, 35), (150, 40, 40), (255, 250, 240)),
    ((245, 248, 250), (20, 35, 50), (0, 110, 110), (240, 255, 255)),
    ((255, 255, 255), (60, 60, 70), (230, 120, 20), (255, 255, 255)),
    ((238, 238, 232), (25, 25, 25), (40, 40, 40), (235, 235, 235)),
    ((255, 253, 248), (40, 50, 80), (90, 50, 130), (250, 245, 255)),
    ((252, 252, 252), (15, 15, 15), (30, 120, 60), (255, 255, 255)),
]


@dataclass
class Run:
    text: str
    role: str
    font: str
    size: int
    fill: tuple[int, int, int]


class Canvas:
    def __init__(self, width: int, height: int, paper: tuple[int, int, int]) -> None:
        self.image = Image.new("RGB", (width, height), paper)
        self.draw = ImageDraw.Draw(self.image)
        self.printed: list[dict[str, Any]] = []

    def fit(self, run: Run, max_width: float) -> ImageFont.FreeTypeFont:
        size = run.size
        while True:
            font = _font(run.font, size)
            if self.draw.textlength(run.text, font=font) <= max_width or size <= 12:
                return font
            size -= 1

    def text(self, x: float, y: float, run: Run, align: str, max_width: float) -> float:
        """Draw a run with its top at y; returns its height."""
        font = self.fit(run, max_width)
        anchor = {"left": "la", "center": "ma", "right": "ra"}[align]
        self.draw.text((x, y), run.text, font=font, fill=run.fill, anchor=anchor)
        box = self.draw.textbbox((x, y), run.text, font=font, anchor=anchor)
        self.printed.append({"text": run.text, "box": [round(float(v), 1) for v in box], "role": run.role})
        ascent, descent = font.getmetrics()
        return float(ascent + descent)


def _stack(
    canvas: Canvas, runs: list[Run], x: float, y: float, align: str, width: float, spacing: float
) -> float:
    for run in runs:
        y += canvas.text(x, y, run, align, width) * spacing
    return y


def _stack_height(runs: list[Run], spacing: float) -> float:
    total = 0.0
    for run in runs:
        ascent, descent = _font(run.font, run.size).getmetrics()
        total += (ascent + descent) * spacing
    return total


def _logo(
    canvas: Canvas,
    rng: random.Random,
    x: float,
    y: float,
    size: float,
    color: tuple[int, int, int],
    initials: str,
    light: tuple[int, int, int],
    font: str,
) -> None:
    shape = rng.choice(["square", "circle", "bars", "mono"])
    d = canvas.draw
    if shape == "square":
        d.rounded_rectangle((x, y, x + size, y + size), radius=size * 0.15, fill=color)
    elif shape == "circle":
        d.ellipse((x, y, x + size, y + size), fill=color)
    elif shape == "bars":
        for i in range(3):
            h = size * (0.45 + 0.25 * i)
            d.rectangle((x + i * size / 3, y + size - h, x + (i + 0.7) * size / 3, y + size), fill=color)
        return
    else:
        d.ellipse((x, y, x + size, y + size), outline=color, width=max(2, int(size * 0.06)))
        light = color
    f = _font(font, int(size * 0.42))
    d.text((x + size / 2, y + size / 2), initials, font=f, fill=light, anchor="mm")
    canvas.printed.append({"text": initials, "box": [x, y, x + size, y + size], "role": "logo"})


def render(rng: random.Random, c: Content) -> tuple[Image.Image, dict[str, Any]]:
    """The clean card image and its layout facts."""
    width = rng.choice([1050, 1120, 1200, 1280])
    height = int(width / rng.uniform(1.62, 1.82))
    paper, ink, accent, light = rng.choice(PALETTES)
    regular, bold = rng.choice(families())
    head_regular, head_bold = rng.choice(families()) if rng.random() < 0.3 else (regular, bold)
    layout = rng.choice(["left", "centered", "right", "two_column", "logo", "band", "accent", "dark"])
    if layout == "dark":
        paper, ink = (rng.choice([(28, 32, 40), (20, 45, 70), (45, 20, 30), (15, 15, 15)]), (235, 235, 230))
    canvas = Canvas(width, height, paper)
    u = height / 600  # sizes are designed for a 600 px tall card
    name_size = int(rng.uniform(38, 54) * u)
    title_size = int(rng.uniform(21, 27) * u)
    company_size = int(rng.uniform(24, 34) * u)
    contact_size = int(rng.uniform(19, 24) * u)
    title_color = ink if rng.random() < 0.6 else accent if layout != "dark" else (200, 200, 200)
    name_run = Run(
        c.name.upper() if rng.random() < 0.12 else c.name,
        "name",
        head_bold if rng.random() < 0.75 else head_regular,
        name_size,
        ink,
    )
    title_run = Run(c.title, "title", regular, title_size, title_color) if c.title else None
    company_caps = rng.random() < 0.15
    company_run = Run(
        c.company.upper() if company_caps else c.company,
        "company",
        head_bold,
        company_size,
        accent if layout not in {"dark", "band"} and rng.random() < 0.5 else ink,
    )
    contacts = [Run(t, r, regular, contact_size, ink) for t, r in _contact_lines(rng, c)]
    spacing = rng.uniform(1.3, 1.55)
    margin = width * rng.uniform(0.06, 0.09)
    top = height * rng.uniform(0.08, 0.13)
    head = [name_run] + ([title_run] if title_run else [])
    initials = "".join(w[0] for w in c.company.split()[:2] if w[0].isalpha()).upper()

    def column(
        runs_top: list[Run], runs_bottom: list[Run], x: float, align: str, w: float, y0: float
    ) -> None:
        y = _stack(canvas, runs_top, x, y0, align, w, 1.25)
        need = _stack_height(runs_bottom, spacing)
        y = max(y + height * 0.06, height - height * 0.08 - need)
        _stack(canvas, runs_bottom, x, y, align, w, spacing)

    if layout in {"left", "centered", "right", "accent", "dark"}:
        x0 = margin + (width * 0.05 if layout == "accent" else 0)
        if layout == "accent":
            canvas.draw.rectangle((0, 0, width * rng.uniform(0.025, 0.05), height), fill=accent)
        align = {"centered": "center", "right": "right"}.get(layout, "left")
        x = {"center": width / 2, "right": width - margin}.get(align, x0)
        avail = width - x0 - margin
        company_first = rng.random() < 0.55
        top_runs = ([company_run] if company_first else []) + head
        if company_first:
            y = top
            y += canvas.text(x, y, company_run, align, avail) * 1.6
            top_runs, y0 = head, y
        else:
            y0 = top
        bottom = contacts + ([] if company_first else [company_run])
        if not company_first and rng.random() < 0.5:
            bottom = [company_run, *contacts]
        column(top_runs, bottom, x, align, avail, y0)
    elif layout == "two_column":
        split = width * rng.uniform(0.46, 0.54)
        left_runs = [*head, company_run] if rng.random() < 0.5 else [company_run, *head]
        need = _stack_height(left_runs, 1.3)
        _stack(canvas, left_runs, margin, (height - need) / 2, "left", split - margin * 1.3, 1.3)
        if rng.random() < 0.6:
            canvas.draw.line(
                (split - margin * 0.3, height * 0.2, split - margin * 0.3, height * 0.8), fill=accent, width=3
            )
        need = _stack_height(contacts, spacing)
        _stack(
            canvas,
            contacts,
            split + margin * 0.2,
            max(top, (height - need) / 2),
            "left",
            width - split - margin * 1.2,
            spacing,
        )
    elif layout == "logo":
        size = height * rng.uniform(0.16, 0.22)
        right = rng.random() < 0.4
        lx = width - margin - size if right else margin
        _logo(canvas, rng, lx, top, size, accent, initials, light, bold)
        cx = margin if right else margin + size * 1.25
        canvas.text(cx, top + size / 2 - company_size * 0.6, company_run, "left", width - size - margin * 3)
        y = top + size + height * 0.07
        cxr = width * 0.52
        y = _stack(canvas, head, margin, y, "left", cxr - margin - width * 0.04, 1.25)
        need = _stack_height(contacts, spacing)
        _stack(
            canvas,
            contacts,
            cxr,
            max(y - need * 0.5, height - height * 0.08 - need),
            "left",
            width - cxr - margin,
            spacing,
        )
    else:  # band
        band_h = height * rng.uniform(0.22, 0.3)
        at_top = rng.random() < 0.6
        y_band = 0.0 if at_top else height - band_h
        canvas.draw.rectangle((0, y_band, width, y_band + band_h), fill=accent)
        band_run = Run(company_run.text, "company", head_bold, company_size, light)
        align = rng.choice(["left", "center"])
        bx = margin if align == "left" else width / 2
        canvas.text(bx, y_band + band_h / 2 - company_size * 0.6, band_run, align, width - 2 * margin)
        y0 = band_h + height * 0.07 if at_top else top
        bottom_limit = height - (0 if at_top else band_h)
        cxr = width * rng.choice([0.5, 0.55]) if len(contacts) > 3 else margin
        head_width = (cxr if cxr != margin else width - margin) - margin - width * 0.04
        y = _stack(canvas, head, margin, y0, "left", head_width, 1.25)
        need = _stack_height(contacts, spacing)
        yc = y0 if cxr != margin else y + height * 0.04
        if cxr == margin:
            yc = max(yc, bottom_limit - height * 0.06 - need)
        _stack(canvas, contacts, cxr, yc, "left", width - cxr - margin, spacing)
    return canvas.image, {
        "layout": layout,
        "printed": canvas.printed,
        "font": Path(regular).stem,
        "size": [width, height],
    }


# ---------------------------------------------------------------------------------------------
# Degradation


def _perspective_coeffs(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list[float]:
    """Coefficients for Image.transform(PERSPECTIVE) mapping output points dst to input points src."""
    rows = []
    rhs = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return [float(v) for v in np.linalg.solve(np.array(rows, dtype=float), np.array(rhs, dtype=float))]


def _table(nrng: np.random.Generator, rng: random.Random, size: tuple[int, int]) -> Image.Image:
    w, h = size
    base = np.array(
        rng.choice(
            [(120, 84, 52), (92, 92, 96), (40, 42, 48), (170, 150, 120), (60, 90, 70), (200, 200, 195)]
        ),
        dtype=np.float32,
    )
    grain = nrng.normal(0, 1, (h // 8 + 1, 1)).astype(np.float32) * rng.uniform(3, 12)
    grain = np.repeat(np.repeat(grain, 8, axis=0)[:h], w, axis=1)
    arr = base[None, None, :] + grain[:, :, None] + nrng.normal(0, 4, (h, w, 1)).astype(np.float32)
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")


def _lighting(arr: np.ndarray, rng: random.Random, strength: float) -> np.ndarray:
    h, w = arr.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / math.hypot(w, h)
    gain = 1.0 - strength * dist + rng.uniform(-0.05, 0.05) * (xx / w)
    return arr * gain[:, :, None]


def degrade(rng: random.Random, card: Image.Image) -> tuple[Image.Image, list[str], str]:
    """A photographed/scanned version of a clean card: (image, what was done, file format)."""
    nrng = np.random.default_rng(rng.getrandbits(32))
    kind = rng.choice(["clean", "rotate", "photo", "photo", "photo", "blur", "noise", "jpeg", "light"])
    done = [kind]
    image = card
    fmt = "PNG"
    if kind == "rotate":
        image = image.rotate(
            rng.uniform(-4, 4), resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(236, 236, 236)
        )
    elif kind == "photo":
        w, h = card.size
        pad_x, pad_y = int(w * rng.uniform(0.08, 0.2)), int(h * rng.uniform(0.1, 0.25))
        out_w, out_h = w + 2 * pad_x, h + 2 * pad_y
        jitter = 0.035
        dst = [
            (pad_x + rng.uniform(-jitter, jitter) * w, pad_y + rng.uniform(-jitter, jitter) * h),
            (pad_x + w + rng.uniform(-jitter, jitter) * w, pad_y + rng.uniform(-jitter, jitter) * h),
            (pad_x + w + rng.uniform(-jitter, jitter) * w, pad_y + h + rng.uniform(-jitter, jitter) * h),
            (pad_x + rng.uniform(-jitter, jitter) * w, pad_y + h + rng.uniform(-jitter, jitter) * h),
        ]
        angle = math.radians(rng.uniform(-6, 6))
        cx, cy = out_w / 2, out_h / 2
        dst = [
            (
                cx + (x - cx) * math.cos(angle) - (y - cy) * math.sin(angle),
                cy + (x - cx) * math.sin(angle) + (y - cy) * math.cos(angle),
            )
            for x, y in dst
        ]
        # The whole card stays in the frame, with some table on every side.
        min_x, min_y = min(x for x, _ in dst), min(y for _, y in dst)
        dst = [(x - min_x + pad_x * 0.6, y - min_y + pad_y * 0.6) for x, y in dst]
        out_w = int(max(x for x, _ in dst) + pad_x * 0.6)
        out_h = int(max(y for _, y in dst) + pad_y * 0.6)
        src = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
        coeffs = _perspective_coeffs(src, dst)
        warped = card.transform(
            (out_w, out_h), Image.Transform.PERSPECTIVE, coeffs, resample=Image.Resampling.BICUBIC
        )
        mask = Image.new("L", card.size, 255).transform((out_w, out_h), Image.Transform.PERSPECTIVE, coeffs)
        table = _table(nrng, rng, (out_w, out_h))
        shadow = mask.filter(ImageFilter.GaussianBlur(12))
        shadow_offset = (int(w * 0.01), int(h * 0.015))
        dark = Image.new("RGB", table.size, (0, 0, 0))
        table.paste(Image.blend(table, dark, 0.5), shadow_offset, shadow)
        table.paste(warped, (0, 0), mask)
        arr = _lighting(np.asarray(table, dtype=np.float32), rng, rng.uniform(0.1, 0.35))
        arr += nrng.normal(0, rng.uniform(2, 6), arr.shape).astype(np.float32)
        image = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB").filter(
            ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0))
        )
        fmt = "JPEG"
    elif kind == "blur":
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.9, 1.7)))
    elif kind == "noise":
        arr = np.asarray(image, dtype=np.float32) + nrng.normal(
            0, rng.uniform(8, 18), (image.height, image.width, 1)
        ).astype(np.float32)
        image = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
    elif kind == "jpeg":
        fmt = "JPEG"
    elif kind == "light":
        arr = _lighting(np.asarray(image, dtype=np.float32), rng, rng.uniform(0.25, 0.5))
        image = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
    if kind != "photo" and rng.random() < 0.25:
        done.append("jpeg")
        fmt = "JPEG"
    return image, done, fmt


def encode(image: Image.Image, fmt: str, rng: random.Random) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=rng.randint(35, 80))
    else:
        image.save(out, "PNG", compress_level=1)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Cards with truth


def card(seed: int, index: int) -> tuple[dict[str, Any], bytes]:
    """One synthetic card: (truth row in the fixtures' format, image bytes)."""
    rng = random.Random(f"lead-mcp-synth-{seed}-{index}")
    content = make_content(rng)
    clean, facts = render(rng, content)
    image, done, fmt = degrade(rng, clean)
    data = encode(image, fmt, rng)
    ext = "jpg" if fmt == "JPEG" else "png"
    ident = f"synth_{seed}_{index:03d}"
    truth = {
        "id": ident,
        "file": f"{ident}.{ext}",
        "given_name": content.given,
        "family_name": content.family,
        "full_name": content.name,
        "title": content.title,
        "company": content.company,
        "email": content.emails[0],
        "phones": [p[2] for p in content.phones],
        "website": content.website,
        "address": ", ".join(content.address) if content.address else None,
        "meta": {
            "layout": facts["layout"],
            "degradation": "+".join(done),
            "font": facts["font"],
            "country": content.country,
            "size": facts["size"],
        },
        "printed": facts["printed"],
    }
    # The truth is what is printed: a name or company printed in capitals is that text in capitals.
    for run in facts["printed"]:
        if run["role"] == "name" and run["text"] != content.name:
            truth["full_name"] = run["text"]
            truth["given_name"], truth["family_name"] = (
                run["text"][: len(content.given)],
                run["text"][len(content.given) + 1 :],
            )
        if run["role"] == "company":
            truth["company"] = run["text"]
    return truth, data


def cards(n: int, seed: int) -> list[tuple[dict[str, Any], bytes]]:
    """``n`` cards of one seed."""
    return [card(seed, i) for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    """Write cards and truth.jsonl to a folder."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for truth, data in cards(args.n, args.seed):
        (args.out / truth["file"]).write_bytes(data)
        rows.append(json.dumps(truth, ensure_ascii=False))
    (args.out / "truth.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} cards in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
