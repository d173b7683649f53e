"""Business-card fields from OCR lines: pure functions, no I/O.

The reader gets lines with word boxes. It works in four passes:

1. **Clean**: logo glyphs read as letters (a tall or detached first "word", monogram initials)
   are dropped; lines are cut into segments at ``|``/``•`` separators and wide gaps.
2. **Contact data** is recognised by shape, with repair of typical OCR confusions: emails and
   web addresses (spaces and ``:``/``,`` inside them, ``http//``, a capital ``I`` for ``l``),
   phone numbers (``O``/``l`` among digits; parsed to E.164 in a region guessed from the
   card), postal address lines (street words, postcodes, states, countries), joined as a block.
3. **Layout** decides the rest: the person's name is a short capitalised line, usually the
   largest text, matching the email's local part when it can; the title sits just under it;
   the company carries a legal suffix or industry word or matches the email/web domain, and
   may span two lines.
4. **Confidence** per field combines the OCR confidence of its lines with how sure the rule was.

Nothing is invented: with no contact data at all (not a card) names and companies are left out.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

import phonenumbers

from lead_mcp.integrations.ocr.base import Line, Word
from lead_mcp.services import normalize

# ---------------------------------------------------------------------------------------------


def _words(text: str) -> set[str]:
    return set(text.split())


# ---------------------------------------------------------------------------------------------
# Vocabularies (general, not tied to any card)

LEGAL_SUFFIXES = {
    "inc",
    "inc.",
    "llc",
    "l.l.c.",
    "ltd",
    "ltd.",
    "limited",
    "co",
    "co.",
    "corp",
    "corp.",
    "corporation",
    "company",
    "gmbh",
    "ag",
    "kg",
    "ug",
    "sa",
    "s.a.",
    "sas",
    "sarl",
    "srl",
    "s.r.l.",
    "spa",
    "s.p.a.",
    "bv",
    "b.v.",
    "nv",
    "plc",
    "pty",
    "pte",
    "oy",
    "ab",
    "as",
    "a/s",
    "aps",
    "lp",
    "llp",
    "pc",
    "kk",
    "sl",
    "s.l.",
    "lda",
    "ltda",
    "oü",
    "sp.",
    "z",
    "o.o.",
    "e.k.",
    "gbr",
    "partg",
    "ohg",
    "pllc",
    "p.c.",
    "group",
}
COMPANY_WORDS = _words(
    """labs lab software studio studios design designs bakery events realty interiors coffee roasters
    analytics
    marketing partners group consulting consultants solutions technologies technology tech systems dental
    plumbing builders wealth capital media agency bank clinic law associates holdings industries ventures
    foods food logistics health healthcare insurance properties property construction engineering electric
    energy financial finance advisors advisory services service networks network digital creative works
    company corporation enterprises enterprise international global press publishing pharma medical
    restaurant cafe hotel travel motors automotive architects architecture academy school university
    institute foundation lawyers legal accounting accountants estate homes home fitness salon spa boutique
    shop store market supply supplies trading imports exports farm farms brewery winery kitchen catering
    cleaning security robotics ai data cloud labs."""
)
TITLE_WORDS = _words(
    """manager director officer consultant partner engineer designer planner agent broker advisor adviser
    baker ceo cto cfo coo cmo cio cpo founder cofounder co-founder head vp president chair chairman chairwoman
    lead specialist analyst architect developer owner principal associate coordinator assistant executive
    chef attorney lawyer accountant nurse doctor physician dentist therapist scientist researcher professor
    lecturer teacher editor writer producer photographer artist sales marketing operations account
    representative rep intern trainee secretary treasurer administrator admin strategist officer recruiter
    counsel paralegal realtor surveyor technician mechanic electrician plumber contractor builder manager
    supervisor superintendent evangelist advocate ambassador fellow investor controller auditor buyer
    merchandiser stylist barista sommelier pharmacist veterinarian optometrist surgeon psychologist
    coach trainer instructor tutor curator librarian archivist translator interpreter pilot captain
    senior junior chief managing general regional national global deputy assistant vice
    analista responsable responsabile directeur directrice director directora diretor diretora direttore
    direttrice gerente jefe jefa geschäftsführer geschäftsführerin leiter leiterin prokurist prokuristin
    inhaber inhaberin berater beraterin referent referentin chargé chargée ingénieur ingénieure ingeniero
    ingeniera engenheiro engenheira ingegnere consultor consultora consulente conseiller conseillère
    fondateur fondatrice fundador fundadora fondatore fondatrice socio socia sócio sócia presidente
    président présidente gérant gérante commercial comercial commerciale vendedor vendedora coordinador
    coordinadora coordenador coordenadora coordinatore coordinatrice projectleider accountmanager adviseur
    medewerker eigenaar directeur-generaal"""
)
# German and Dutch titles are compounds: "Vertriebsleiterin", "Projektleider", "Accountmanager".
TITLE_ENDINGS = (
    "leiter",
    "leiterin",
    "leider",
    "führer",
    "führerin",
    "berater",
    "beraterin",
    "manager",
    "managerin",
    "ingenieur",
    "ingenieurin",
    "referent",
    "referentin",
    "entwickler",
    "entwicklerin",
)
# Title words that may also start a company name ("Sales Partners Ltd"): a company word or suffix wins.
PHONE_LABELS = (
    r"tel(?:ephone)?|t[ée]l[ée]?(?:phone|fono|fon)?|phone|ph|mobile?|mob|m[óo]vil|portable|port|cell(?:ular)?"
    r"|cel|handy|direct|dir|office|off|work|home|fax|t[ée]l[ée]copie|main|landline|whatsapp|gsm|tlf|puh"
    r"|t|m|p|f|o|d|c|h"
)
EMAIL_LABELS = r"e-?mail|mail|email|e"
WEB_LABELS = r"web(?:site)?|site|url|internet|w|www(?=\s*[:])"
_LABEL = re.compile(
    rf"^\s*(?:(?P<phone>{PHONE_LABELS})|(?P<email>{EMAIL_LABELS})|(?P<web>{WEB_LABELS}))\s*[.:]?\s*[:.]?\s+(?=\S)|"
    rf"^\s*(?:(?P<phone2>{PHONE_LABELS})|(?P<email2>{EMAIL_LABELS})|(?P<web2>{WEB_LABELS}))\s*[.:]\s*(?=\S)",
    re.IGNORECASE,
)
GENERIC_TLDS = _words(
    """com net org info biz io co ai app dev tech online site store shop agency studio design digital
    media news blog cloud solutions services consulting group global company business email law legal
    health care dental clinic realty estate homes properties finance capital money bank insurance
    travel events coffee cafe restaurant bar pub beer wine bakery kitchen fitness yoga art gallery
    photography photo music film tv xyz me us eu asia pro name mobi jobs careers academy education school
    university institute foundation ngo charity church life live world today city london berlin paris nyc
    tokyo amsterdam wien vegas miami boston"""
)
STREET_WORDS = _words(
    """street st st. road rd rd. avenue ave ave. av av. boulevard blvd blvd. lane ln ln. drive dr dr. way
    court ct
    ct. place pl pl. square sq sq. terrace parkway pkwy highway hwy circle cir trail crescent close row mews
    alley plaza quay wharf strasse straße str str. weg gasse platz allee ring damm ufer chaussee calle carrer
    avenida av. paseo plaza rua via viale piazza corso rue boulevard chemin quai allée impasse laan straat
    gracht plein kade vej gade gatan vägen katu ulica suite ste ste. level floor fl fl. unit apt apt.
    building bldg po p.o. box postfach"""
)
STREET_ENDINGS = (
    "straße",
    "strasse",
    "str.",
    "weg",
    "gasse",
    "platz",
    "allee",
    "damm",
    "ring",
    "ufer",
    "laan",
    "straat",
    "gracht",
    "kade",
    "plein",
    "dijk",
    "singel",
    "steeg",
    "vej",
    "gade",
    "gatan",
    "vägen",
    "katu",
    "veien",
)
_STREET_LINE = re.compile(
    r"^(?:[A-ZÀ-Þ][\w.'-]+(?:\s+[\w.'-]+){0,3}\s+\d{1,5}[a-zA-Z]?|\d{1,5}[a-zA-Z]?\s+[A-ZÀ-Þ][\w.'-]+(?:\s+[\w.'-]+){0,3})$"
)
US_STATES = _words(
    """AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC
    ND OH OK OR
    PA RI SC SD TN TX UT VT VA WA WV WI WY DC"""
)
AU_STATES = {"NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT", "NT"}
CA_PROVINCES = {"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"}
COUNTRIES = {
    "united states": "US",
    "usa": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "canada": "CA",
    "mexico": "MX",
    "méxico": "MX",
    "brazil": "BR",
    "brasil": "BR",
    "argentina": "AR",
    "chile": "CL",
    "colombia": "CO",
    "peru": "PE",
    "perú": "PE",
    "united kingdom": "GB",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "ireland": "IE",
    "éire": "IE",
    "germany": "DE",
    "deutschland": "DE",
    "austria": "AT",
    "österreich": "AT",
    "switzerland": "CH",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "france": "FR",
    "belgium": "BE",
    "belgië": "BE",
    "belgique": "BE",
    "netherlands": "NL",
    "the netherlands": "NL",
    "nederland": "NL",
    "luxembourg": "LU",
    "spain": "ES",
    "españa": "ES",
    "portugal": "PT",
    "italy": "IT",
    "italia": "IT",
    "denmark": "DK",
    "danmark": "DK",
    "sweden": "SE",
    "sverige": "SE",
    "norway": "NO",
    "norge": "NO",
    "finland": "FI",
    "suomi": "FI",
    "iceland": "IS",
    "poland": "PL",
    "polska": "PL",
    "czech republic": "CZ",
    "czechia": "CZ",
    "slovakia": "SK",
    "hungary": "HU",
    "romania": "RO",
    "bulgaria": "BG",
    "greece": "GR",
    "turkey": "TR",
    "türkiye": "TR",
    "israel": "IL",
    "united arab emirates": "AE",
    "uae": "AE",
    "saudi arabia": "SA",
    "qatar": "QA",
    "egypt": "EG",
    "south africa": "ZA",
    "nigeria": "NG",
    "kenya": "KE",
    "morocco": "MA",
    "india": "IN",
    "pakistan": "PK",
    "singapore": "SG",
    "malaysia": "MY",
    "indonesia": "ID",
    "philippines": "PH",
    "thailand": "TH",
    "vietnam": "VN",
    "china": "CN",
    "hong kong": "HK",
    "taiwan": "TW",
    "japan": "JP",
    "south korea": "KR",
    "korea": "KR",
    "australia": "AU",
    "new zealand": "NZ",
    "estonia": "EE",
    "latvia": "LV",
    "lithuania": "LT",
    "ukraine": "UA",
    "croatia": "HR",
    "slovenia": "SI",
    "serbia": "RS",
    "cyprus": "CY",
    "malta": "MT",
}
# Country-code domains used world-wide as generic ones: they say nothing about the country.
VANITY_TLDS = {
    "io",
    "co",
    "ai",
    "me",
    "tv",
    "ly",
    "fm",
    "gg",
    "to",
    "cc",
    "ws",
    "am",
    "is",
    "so",
    "sh",
    "ac",
    "im",
    "la",
    "vc",
    "xyz",
}
TLD_REGIONS = {
    "uk": "GB",
    "com.au": "AU",
    "co.uk": "GB",
    "co.nz": "NZ",
    "co.za": "ZA",
    "com.br": "BR",
    "co.jp": "JP",
}
NAME_PARTICLES = {
    "van",
    "von",
    "der",
    "den",
    "de",
    "del",
    "della",
    "di",
    "da",
    "dos",
    "das",
    "du",
    "la",
    "le",
    "st",
    "st.",
    "ten",
    "ter",
    "bin",
    "binti",
    "al",
    "el",
    "mac",
    "mc",
    "ó",
    "o'",
    "ní",
    "nic",
    "ua",
    "af",
    "av",
    "zu",
    "y",
    "'t",
    "vander",
    "van't",
    "d'",
    "dei",
    "degli",
}
HONORIFICS = {"mr", "mr.", "mrs", "mrs.", "ms", "ms.", "dr", "dr.", "prof", "prof.", "sir", "mx", "mx."}
NAME_SUFFIXES = {
    "jr",
    "jr.",
    "sr",
    "sr.",
    "ii",
    "iii",
    "iv",
    "phd",
    "ph.d.",
    "md",
    "m.d.",
    "mba",
    "esq",
    "cpa",
}

_EMAIL = re.compile(r"^[a-z0-9][a-z0-9._%+'-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}$")
_HOST = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?(?:/[^\s]*)?$")
_PHONE_ISH = re.compile(r"^[\d\s+().\-/oOlI|]*$")
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b")
_US_ZIP = re.compile(r"\b([A-Z]{2})\.?\s+(\d{5})(?:-\d{4})?\b")
_AU_POST = re.compile(r"\b(NSW|VIC|QLD|WA|SA|TAS|ACT|NT)\s+(\d{4})\b")
_EU_POST = re.compile(r"(?:^|[\s,])(?:[A-Z]{1,2}-)?\d{4,5}\s+[A-ZÀ-Þ][\w'-]+")
_CA_POST = re.compile(r"\b[A-Z]\d[A-Z]\s*\d[A-Z]\d\b")
_LABELLED_SHAPE = re.compile(
    r"^(?:h\s*t\s*t\s*p\S*|w\s*w\s*w\S*|[^\s@]+@\S+|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?:/\S*)?)$",
    re.IGNORECASE,
)
# A number after a label word this reader does not know ("Mobiel:", "Fone", "Direkt:").
_OTHER_LABEL = re.compile(r"^[^\W\d_]{2,12}\.?\s*(?P<colon>[:.])?\s*(?=[+(\d])")
_BR_CEP = re.compile(r"\b\d{5}-\d{3}\b")
_JP_POST = re.compile(r"(?:〒\s*)?\b\d{3}-\d{4}\b")
_JP_BLOCK = re.compile(r"^\d{1,4}(?:-\d{1,4}){1,2}\s+[^\W\d_]")
_JP_WARD = re.compile(r"\b[A-Z][a-z]+-(?:ku|shi|ken|cho|machi|gun)\b")
_NL_POST = re.compile(r"\b[1-9]\d{3}\s?[A-Z]{2}\s+[A-ZÀ-Þ][\w'-]+")
_HOUSE_NUMBER = re.compile(r"\b\d{1,5}[a-zA-Z]?\b")
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*\.?", re.UNICODE)


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Segment:
    """A piece of a line that holds one item (lines split at separators and wide gaps)."""

    words: list[Word]
    confidence: float
    line_index: int
    role: str | None = None

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (
            min(w.box[0] for w in self.words),
            min(w.box[1] for w in self.words),
            max(w.box[2] for w in self.words),
            max(w.box[3] for w in self.words),
        )

    @property
    def height(self) -> float:
        """Text size: the median word height (robust to one tall glyph)."""
        return float(statistics.median(w.box[3] - w.box[1] for w in self.words))

    @property
    def center_x(self) -> float:
        x0, _, x1, _ = self.box
        return (x0 + x1) / 2


@dataclass
class Extraction:
    """What the reader found on a card."""

    full_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    title: str | None = None
    company: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    website: str | None = None
    address: str | None = None
    confidence: dict[str, float] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    region: str | None = None


# ---------------------------------------------------------------------------------------------
# Cleaning


def _alnum(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


# Tesseract's Latin model reads an umlaut's two dots as a macron ("Krūger", "Zūrich") and specks
# under a letter as a dot below ("Nwoọsu"). Umlauts are far more common on Latin-script cards
# than macrons (Japanese romanisation mostly prints "Sato", "Ohno"), and a dot below is rarer still.
_MARK_FIXES = str.maketrans(
    {
        "ū": "ü",
        "Ū": "Ü",
        "ō": "ö",
        "Ō": "Ö",
        "ā": "ä",
        "Ā": "Ä",
        "ọ": "o",
        "ẹ": "e",
        "ạ": "a",
        "ị": "i",
        "ụ": "u",
        "Ọ": "O",
        "Ẹ": "E",
        "Ạ": "A",
        "Ị": "I",
        "Ụ": "U",
    }
)


def _fix_marks(word: Word) -> Word:
    text = unicodedata.normalize("NFC", word.text)
    fixed = text.translate(_MARK_FIXES)
    return word if fixed == word.text else Word(fixed, word.box, word.confidence)


def _strip_logo_words(words: list[Word]) -> list[Word]:
    """Drop leading glyphs that are a logo read as letters: tall, detached or not letters at all."""
    words = list(words)
    while len(words) > 1:
        first, rest = words[0], words[1:]
        rest_height = statistics.median(w.box[3] - w.box[1] for w in rest)
        first_height = first.box[3] - first.box[1]
        gap = rest[0].box[0] - first.box[2]
        short = _alnum(first.text) <= 3
        if _alnum(first.text) == 0 or (
            short and (first_height > 1.45 * rest_height or gap > 1.1 * rest_height)
        ):
            words = rest
            continue
        break
    while words and _alnum(words[-1].text) == 0 and words[-1].text not in {")", "&"}:
        words = words[:-1]
    cleaned = []
    for word in words:
        text = word.text
        if word is words[0]:
            text = re.sub(r"^[^\w+(@]+", "", text)
        if text:
            cleaned.append(Word(text, word.box, word.confidence))
    return cleaned


def segments_of(lines: Sequence[Line]) -> list[Segment]:
    """Cleaned segments: logo glyphs dropped, lines cut at separators and wide gaps."""
    out: list[Segment] = []
    for index, line in enumerate(lines):
        words = [_fix_marks(w) for w in line.words if w.text.strip()]
        if not words:
            continue
        height = statistics.median(w.box[3] - w.box[1] for w in words)
        pieces: list[list[Word]] = [[]]
        for word in words:
            if word.text in {"|", "•", "·", "◦", "∙", "/", "—", "–", "¦", "‖"} and pieces[-1]:
                pieces.append([])
                continue
            if pieces[-1] and word.box[0] - pieces[-1][-1].box[2] > 2.5 * height:
                pieces.append([])
            pieces[-1].append(word)
        for piece in pieces:
            piece = _strip_logo_words(piece)
            if not piece:
                continue
            text = " ".join(w.text for w in piece)
            confidence = sum(w.confidence * len(w.text) for w in piece) / max(
                1, sum(len(w.text) for w in piece)
            )
            if _alnum(text) < 2 or (_alnum(text) <= 3 and confidence < 0.75):
                continue
            out.append(Segment(words=piece, confidence=confidence, line_index=index))
    return out


# ---------------------------------------------------------------------------------------------
# Contact data


def _label(text: str) -> tuple[str | None, str]:
    """The kind of a leading label ("Tel:", "E:", "W:") and the text after it."""
    match = _LABEL.match(text)
    if not match:
        return None, text
    kind = next(k.rstrip("2") for k, v in match.groupdict().items() if v)
    rest = text[match.end() :]
    # A one-letter label without punctuation must be followed by something it labels.
    raw = match.group(0)
    one_letter = len(raw.strip().rstrip(".:")) == 1
    letter_only = one_letter and not re.search(r"[.:]", raw)
    # "f.calloway@", "o.pennington@": an initial and a dot inside a word, not a label.
    if one_letter and not re.search(r"[\s:]", raw) and rest[:1].isalpha():
        return None, text
    if letter_only and kind == "phone" and not re.match(r"[+(\d]", rest):
        return None, text
    # "E jo@example.com", "W www.example.com": a bare letter labels what has the shape it names.
    if letter_only and kind != "phone" and not _LABELLED_SHAPE.match(rest.strip()):
        return None, text
    return kind, rest


def _fold_ascii(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _fix_lowercase_i(text: str) -> str:
    """Emails and hosts are printed in lower case: a lone capital I in them is an l."""
    letters = [ch for ch in text if ch.isalpha()]
    if "I" in text and all(ch.islower() or ch == "I" for ch in letters):
        return text.replace("I", "l")
    return text


def _valid_tld(tld: str) -> bool:
    return tld in GENERIC_TLDS or (len(tld) == 2 and tld.isalpha())


def _repair_host_text(text: str) -> str:
    """Join a host printed or read with spaces, colons or commas for dots ("www lumen.io", "atlas:co")."""
    text = re.sub(r"\s*[.:,;]\s*", ".", text.strip())
    text = re.sub(r"\.{2,}", ".", text)
    # "www lumen.io" / "redkite es": a space before a TLD-like tail or after www is a dot.
    parts = text.split()
    if len(parts) > 1:
        joined = parts[0]
        for part in parts[1:]:
            tail = part.split(".")[0].split("/")[0].lower()
            if joined.lower().endswith("www") or _valid_tld(tail) or "." in part:
                joined += "." + part
            else:
                joined += part
        text = joined
    return text


def parse_email(text: str) -> str | None:
    """An email address in a segment, repaired, lower-cased; None when there is none."""
    if "@" not in text:
        return None
    _, rest = _label(text)
    rest = rest.strip().strip("<>()[]").removeprefix("mailto:")
    local, _, domain = rest.partition("@")
    local = _join_local(local).strip(".,:;")
    local = re.sub(r"(?:^|(?<=[a-z._-]))\|(?=[a-z._-])", "l", local)  # "|.mansour": an l read as a bar
    local = local.split()[-1] if local.split() else local
    domain = _repair_host_text(domain).strip(".,:;")
    candidate = _fold_ascii(_fix_lowercase_i(f"{local}@{domain}")).lower()
    candidate = candidate.replace(",", ".")
    if _EMAIL.match(candidate) and _valid_tld(candidate.rsplit(".", 1)[1]):
        return candidate
    return None


def _join_local(local: str) -> str:
    """An email's local part read in pieces: a leading bare label dropped, the pieces joined.

    Pieces meet directly at a dot, hyphen or underscore read with spaces around it ("anna . devries");
    a plain space between two words is an underscore the OCR lost ("bethany _calloway",
    "bethany holloway"), as an address holds no spaces.
    """
    tokens = local.split()
    if len(tokens) > 1 and re.fullmatch(rf"(?:{EMAIL_LABELS})[.:]?", tokens[0], re.IGNORECASE):
        tokens = tokens[1:]
    if not tokens:
        return ""
    out = tokens[0]
    for token in tokens[1:]:
        if out[-1] in "._-+" or token[0] in "._-+":
            out += token
        else:
            out += "_" + token
    return out


def parse_website(text: str) -> str | None:
    """A web address (host and path, no scheme) in a segment, repaired; None when there is none."""
    if "@" in text:
        return None
    kind, rest = _label(text)
    candidate = rest.strip()
    # The scheme, also as OCR misreads it: "http//", "https:/", "https.ll" ("//" read as "ll").
    candidate = re.sub(
        r"^h\s*t\s*t\s*p\s*s?\s*[:;.]?\s*(?:/\s*/?|[lI|]{2}|/[lI|]|[lI|]/)\s*",
        "",
        candidate,
        flags=re.IGNORECASE,
    )
    has_marker = bool(re.match(r"^w\s*w\s*w\b", candidate, re.IGNORECASE)) or candidate != rest.strip()
    if not has_marker and kind != "web" and (" " in candidate or candidate != candidate.lower()):
        return None  # a bare host is printed as one lower-case word ("example.io"), not "Interiors Co."
    host, slash, path = candidate.partition("/")
    host = _repair_host_text(host)
    if re.match(r"^www(?=[a-z])", host, re.IGNORECASE) and not host.lower().startswith("www."):
        host = "www." + host[3:]
    # "ww.example.com", "www-example.com", "wwww.example.com": the www prefix misread.
    host = re.sub(r"^w{2,4}[.\-,_]\.?(?=[a-z0-9])", "www.", host, flags=re.IGNORECASE)
    candidate = _fold_ascii(_fix_lowercase_i(host + (slash + path.replace(" ", "") if slash else ""))).lower()
    candidate = candidate.rstrip("/.,;:")
    if not _HOST.match(candidate):
        return None
    tld = candidate.split("/")[0].rsplit(".", 1)[1]
    if not _valid_tld(tld):
        return None
    if not has_marker and kind != "web" and tld not in GENERIC_TLDS and len(tld) != 2:
        return None
    try:
        return normalize.normalize_website(candidate)
    except Exception:
        return None


def _digits_repaired(text: str) -> str:
    """O/o as 0 and l/I/| as 1 where they sit among digits."""
    chars = list(text)
    for i, ch in enumerate(chars):
        if ch in "OoDlI|":
            left = chars[i - 1] if i > 0 else ""
            right = chars[i + 1] if i + 1 < len(chars) else ""
            if left.isdigit() or right.isdigit():
                chars[i] = "0" if ch in "OoD" else "1"
    return "".join(chars)


def phone_candidates(text: str) -> str | None:
    """The number part of a segment that is a phone line; None when the segment is something else."""
    kind, rest = _label(text)
    rest = _digits_repaired(rest)
    digits = sum(ch.isdigit() for ch in rest)
    if digits < 6:
        return None
    if kind == "phone" or _PHONE_ISH.match(rest):
        return rest
    # Several labelled numbers in one run ("Office: 415-555-0111 Mobile: 415-555-0104").
    if re.search(rf"\b(?:{PHONE_LABELS})\b\s*[.:]", rest, re.IGNORECASE):
        return rest
    # Numbers with label words between them ("+34 810 64 79 98 Móvil +34 612 38 85 60").
    unlabelled = re.sub(r"(?<!\S)[^\W\d_]{2,12}\.?:?(?!\S)", " ", rest)
    if (
        unlabelled != rest
        and _PHONE_ISH.match(unlabelled)
        and len(re.findall(r"\d[\d\s().-]{5,}\d", unlabelled)) >= 2
        and address_score(text) < 1.0
    ):
        return rest
    # A label word of another language ("Mobiel:", "Fone", "Direkt:") before a whole number.
    other = _OTHER_LABEL.match(rest) if kind is None else None
    if other:
        number = rest[other.end() :]
        needed = 7 if other.group("colon") else 8
        if (
            _PHONE_ISH.match(number)
            and sum(ch.isdigit() for ch in number) >= needed
            and address_score(text) < 1.0
            and not _JP_POST.fullmatch(number.strip())
        ):
            return number
    return None


def _site_of_domain(text: str, domains: set[str]) -> str | None:
    """The web address in a line whose host, spaces read as dots, is one of ``domains``."""
    _, rest = _label(text)
    words = rest.strip().split()
    if not 2 <= len(words) <= 4 or any(w[:1].isupper() and len(w) > 1 for w in words[1:]):
        return None
    site = parse_website(".".join(words))
    if site is None:
        return None
    host = site.split("/")[0].removeprefix("www.")
    return site if host in domains else None


def parse_phones(text: str, region: str) -> list[str]:
    """E.164 numbers in a phone segment, read in ``region`` when they have no country code."""
    found: list[str] = []
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
        number = match.number
        if phonenumbers.is_possible_number(number):
            found.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return found


def country_in(text: str) -> str | None:
    """The region code of a country named in a line ("Germany" -> "DE")."""
    folded = " ".join(text.lower().replace(",", " ").split())
    for name, code in sorted(COUNTRIES.items(), key=lambda kv: -len(kv[0])):
        if folded == name or folded.endswith(" " + name) or folded.startswith(name + " "):
            return code
    return None


def address_score(text: str) -> float:
    """How much a line looks like part of a postal address (0: not at all)."""
    score = 0.0
    words = [w.strip(",.").lower() for w in text.split()]
    raw_words = [w.strip(",.") for w in text.split()]
    has_number = bool(_HOUSE_NUMBER.search(text))
    if any(w in STREET_WORDS or w.rstrip(".") in STREET_WORDS for w in words) and has_number:
        score += 1.0
    if any(w.endswith(STREET_ENDINGS) for w in words) and has_number:
        score += 1.0
    elif _STREET_LINE.match(text.strip()):
        score += 0.5  # "Name 12" / "12 Name": a street line, counted when next to the rest of an address
    us = _US_ZIP.search(text)
    if us and us.group(1) in US_STATES:
        score += 1.0
    if _AU_POST.search(text) or _UK_POSTCODE.search(text) or _CA_POST.search(text):
        score += 1.0
    if (_EU_POST.search(text) and not re.search(r"\d{6,}", text)) or _NL_POST.search(text):
        score += 0.8
    letters = sum(ch.isalpha() for ch in text) >= 3
    if letters and (_BR_CEP.search(text) or _JP_POST.search(text)):
        score += 0.8
    if _JP_BLOCK.match(text.strip()) or _JP_WARD.search(text):
        score += 0.8
    if country_in(text):
        score += 1.0
    if any(
        w in {"suite", "level", "floor", "unit", "apt", "building", "p.o.", "po", "postfach"} for w in words
    ):
        score += 0.5
    if any(rw in US_STATES | AU_STATES for rw in raw_words) and has_number and "," in text:
        score += 0.3
    return score


def guess_region(
    address_lines: Iterable[str], phone_texts: Iterable[str], hosts: Iterable[str], default: str
) -> str:
    """The card's country: named in the address, else a +code, else a country TLD, else address shape."""
    addresses = list(address_lines)
    for line in addresses:
        code = country_in(line)
        if code:
            return code
    for text in phone_texts:
        match = re.search(r"\+\s*\d[\d\s().-]{6,}", text)
        if match:
            try:
                code = phonenumbers.region_code_for_number(phonenumbers.parse(match.group(0), None))
            except phonenumbers.NumberParseException:
                code = None
            if code and code not in {"ZZ", "001"}:
                return code
    for line in addresses:
        us = _US_ZIP.search(line)
        if us and us.group(1) in US_STATES:
            return "US"
        if _AU_POST.search(line):
            return "AU"
        if _UK_POSTCODE.search(line):
            return "GB"
        if _CA_POST.search(line):
            return "CA"
    for host in hosts:
        domain = host.split("/")[0]
        for suffix, code in TLD_REGIONS.items():
            if domain.endswith("." + suffix):
                return code
        tld = domain.rsplit(".", 1)[-1]
        if len(tld) == 2 and tld not in VANITY_TLDS and tld.upper() in phonenumbers.SUPPORTED_REGIONS:
            return "GB" if tld == "uk" else tld.upper()
    return default


# ---------------------------------------------------------------------------------------------
# Names, titles, companies


def _tokens(text: str) -> list[str]:
    return text.replace(",", " ").split()


_SUFFIX_KEYS = {suffix.replace(".", "") for suffix in LEGAL_SUFFIXES}


def _is_suffix(token: str) -> bool:
    """A legal form, however dotted ("N.V.", "NV", "S.r.l", "K.K.")."""
    low = token.lower().strip(",")
    return (
        low in LEGAL_SUFFIXES
        or low.rstrip(".") in LEGAL_SUFFIXES
        or ("." in low and low.replace(".", "") in _SUFFIX_KEYS)
    )


def _is_company_word(token: str) -> bool:
    low = token.lower().strip(",")
    return _is_suffix(low) or low in COMPANY_WORDS


def split_person_name(full_name: str) -> tuple[str | None, str | None]:
    """Given and family name; particles stay with the family name ("Anna van der Berg", "Zoë Ó Briain")."""
    words = full_name.split()
    while words and words[0].lower() in HONORIFICS:
        words = words[1:]
    while len(words) > 1 and words[-1].lower().strip(",") in NAME_SUFFIXES:
        words = words[:-1]
    if not words:
        return None, None
    if len(words) == 1:
        return words[0], None
    for index in range(1, len(words) - 1):
        if words[index].lower() in NAME_PARTICLES:
            return " ".join(words[:index]), " ".join(words[index:])
    return " ".join(words[:-1]), words[-1]


def name_shape(text: str) -> float:
    """How much a line looks like a person's name (0 to 1)."""
    tokens = _tokens(text)
    if not 2 <= len(tokens) <= 5:
        return 0.0
    if any(ch.isdigit() for ch in text) or "@" in text or "&" in text:
        return 0.0
    core = [t for t in tokens if t.lower() not in NAME_PARTICLES and t.lower() not in HONORIFICS]
    if not core or len(core) > 4:
        return 0.0
    score = 1.0
    for token in tokens:
        low = token.lower().strip(",.")
        if low in NAME_PARTICLES or low in HONORIFICS or low in NAME_SUFFIXES:
            continue
        if not _WORD.fullmatch(token.strip(",")):
            return 0.0
        if not token[0].isupper():
            return 0.0
        if _is_company_word(token):
            score -= 0.6
        if low in TITLE_WORDS:
            score -= 0.5
    if text.isupper() and len(text) > 4:
        score -= 0.3
    return max(0.0, score)


def title_shape(text: str) -> float:
    """How much a line looks like a job title (0 to 1)."""
    tokens = [t.lower().strip(",.&") for t in _tokens(text)]
    if not tokens or any(ch.isdigit() for ch in text) or "@" in text:
        return 0.0
    hits = sum(1 for t in tokens if t in TITLE_WORDS or (len(t) > 8 and t.endswith(TITLE_ENDINGS)))
    if hits == 0:
        return 0.0
    if any(_is_company_word(t) for t in tokens if t not in TITLE_WORDS):
        return 0.3
    return min(1.0, 0.6 + 0.2 * hits)


def company_shape(text: str) -> float:
    """How much a line looks like a company name from its words alone (0 to 1)."""
    tokens = _tokens(text)
    if not tokens or "@" in text:
        return 0.0
    last = tokens[-1].lower().strip(",")
    if _is_suffix(last):
        return 1.0
    if any(t.lower().strip(",.") in LEGAL_SUFFIXES - {"co", "as", "z", "group"} for t in tokens[1:]):
        return 0.9
    if any(t.lower().strip(",.") in COMPANY_WORDS for t in tokens):
        return 0.7
    return 0.0


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", normalize.fold(text))


def domain_match(text: str, domains: Sequence[str]) -> float:
    """How well a line matches a card's email/web domain ("Hollow Oak Software" ~ hollowoaksoftware.io)."""
    if not domains:
        return 0.0
    squashed = _squash(" ".join(t for t in _tokens(text) if t.lower().strip(",.") not in LEGAL_SUFFIXES))
    if len(squashed) < 2:
        return 0.0
    best = 0.0
    for domain in domains:
        label = domain.split("/")[0].removeprefix("www.").split(".")[0]
        if not label:
            continue
        if squashed == label:
            return 1.0
        if label.startswith(squashed) or squashed.startswith(label):
            best = max(best, 0.6 + 0.4 * min(len(label), len(squashed)) / max(len(label), len(squashed)))
        best = max(best, SequenceMatcher(None, squashed, label).ratio() * 0.8)
    return best


def email_name_match(text: str, emails: Sequence[str]) -> float:
    """How well a name matches an email's local part ("Rachel Nguyen" ~ rachel.nguyen@, rkowalski@)."""
    tokens = [_squash(t) for t in _tokens(text)]
    tokens = [t for t in tokens if t]
    if not tokens or not emails:
        return 0.0
    best = 0.0
    for email in emails:
        local = re.sub(r"[^a-z0-9]", "", email.split("@")[0])
        if not local:
            continue
        hits = sum(1 for t in tokens if len(t) > 1 and t in local)
        initials = "".join(t[0] for t in tokens)
        if hits >= 2:
            best = max(best, 1.0)
        elif hits == 1 and (
            local.startswith(tokens[0][0]) or local.endswith(tokens[-1][0]) or local.startswith(initials[:1])
        ):
            best = max(best, 0.9)
        elif hits == 1:
            best = max(best, 0.6)
    return best


# ---------------------------------------------------------------------------------------------
# The reader


def _vertical_gap(upper: Segment, lower: Segment) -> float:
    return lower.box[1] - upper.box[3]


def _same_column(a: Segment, b: Segment) -> bool:
    ax0, _, ax1, _ = a.box
    bx0, _, bx1, _ = b.box
    tolerance = max(a.height, b.height) * 1.2
    overlap = min(ax1, bx1) - max(ax0, bx0)
    return (
        abs(ax0 - bx0) < tolerance
        or abs(ax1 - bx1) < tolerance
        or abs(a.center_x - b.center_x) < tolerance
        or overlap > 0.5 * min(ax1 - ax0, bx1 - bx0)
    )


def _neighbours_below(seg: Segment, pool: Sequence[Segment], *, max_gap: float) -> list[Segment]:
    below = [
        s
        for s in pool
        if s is not seg
        and s.box[1] >= seg.box[1] + 0.5 * seg.height
        and _same_column(seg, s)
        and _vertical_gap(seg, s) < max_gap
    ]
    return sorted(below, key=lambda s: s.box[1])


def extract(lines: Sequence[Line], *, default_region: str = "US") -> Extraction:
    """Read a card's fields from OCR lines (see the module docstring for how)."""
    result = Extraction()
    segments = segments_of(lines)
    result.segments = segments

    # Contact data by shape.
    email_segs: list[tuple[Segment, str]] = []
    web_segs: list[tuple[Segment, str]] = []
    phone_segs: list[tuple[Segment, str]] = []
    for seg in segments:
        text = seg.text
        email = parse_email(text)
        if email:
            seg.role = "email"
            email_segs.append((seg, email))
            continue
        number_text = phone_candidates(text)
        if number_text:
            seg.role = "phone"
            phone_segs.append((seg, number_text))
            continue
        site = parse_website(text)
        if site and address_score(text) == 0:
            seg.role = "website"
            web_segs.append((seg, site))
    # A bare host read with a space for a dot ("example jp") when it is the email's domain.
    mail_domains = {e.split("@")[1] for _, e in email_segs}
    for seg in segments:
        if seg.role is None and mail_domains and " " in seg.text and "@" not in seg.text:
            site = _site_of_domain(seg.text, mail_domains)
            if site:
                seg.role = "website"
                web_segs.append((seg, site))

    # The address: a block of adjacent address-like lines in one column.
    rest = [s for s in segments if s.role is None]
    scored = {id(s): address_score(s.text) for s in rest}
    seeds = [s for s in rest if scored[id(s)] >= 1.0]
    pitches = _line_pitches(segments)
    block: list[Segment] = []
    if seeds:
        ordered = sorted(rest, key=lambda s: s.box[1])
        best_block: list[Segment] = []
        for seed in seeds:
            group = [seed]
            for direction in (-1, 1):
                current = seed
                while True:
                    if direction > 0:
                        nxt = [
                            s
                            for s in ordered
                            if s.box[1] > current.box[1]
                            and s not in group
                            and _same_column(current, s)
                            and _next_in_block(current, s, pitches)
                        ]
                        candidate = nxt[0] if nxt else None
                    else:
                        prv = [
                            s
                            for s in ordered
                            if s.box[1] < current.box[1]
                            and s not in group
                            and _same_column(s, current)
                            and _next_in_block(s, current, pitches)
                        ]
                        candidate = prv[-1] if prv else None
                    if candidate is None or (
                        scored[id(candidate)] < 0.5 and not _address_tail(candidate, current, direction)
                    ):
                        break
                    group.append(candidate)
                    current = candidate
            if sum(scored[id(s)] for s in group) > sum(scored[id(s)] for s in best_block):
                best_block = group
        block = sorted(best_block, key=lambda s: s.box[1])
        for seg in block:
            seg.role = "address"

    hosts = [site for _, site in web_segs] + [e.split("@")[1] for _, e in email_segs]
    region = guess_region(
        [s.text for s in block] + [s.text for s in rest if country_in(s.text)],
        [t for _, t in phone_segs],
        hosts,
        default_region,
    )
    result.region = region

    # Phones, in printed order.
    phones: list[str] = []
    phone_conf: list[float] = []
    for seg, number_text in _reading_order(phone_segs):
        found = parse_phones(number_text, region)
        if not found:
            seg.role = None
            continue
        for number in found:
            if number not in phones:
                phones.append(number)
                phone_conf.append(seg.confidence)
    result.phones = phones

    emails: list[str] = []
    email_conf: list[float] = []
    for seg, email in sorted(email_segs, key=lambda p: (_role_account(p[1]), p[0].box[1])):
        if email not in emails:
            emails.append(email)
            email_conf.append(seg.confidence)
    result.emails = emails
    if web_segs:
        seg, site = max(web_segs, key=lambda p: (p[1].startswith("www."), p[0].confidence))
        result.website = site
        result.confidence["website"] = round(seg.confidence, 2)
    if email_conf:
        result.confidence["emails"] = round(min(email_conf), 2)
    if phone_conf:
        result.confidence["phones"] = round(min(phone_conf), 2)
    if block:
        result.address = ", ".join(_clean_address_line(s.text) for s in block)
        result.confidence["address"] = round(
            min(s.confidence for s in block) * min(1.0, 0.6 + 0.2 * len(block)), 2
        )

    has_contact = bool(emails or phones or result.website)
    if not has_contact:
        return result  # not a card (or not readable): no names or companies guessed from stray text

    _people_and_companies(result, [s for s in segments if s.role is None], emails, hosts)
    return result


ROLE_ACCOUNTS = _words(
    """info hello contact office sales support mail team enquiries inquiries admin kontakt bureau
    contato contacto info.de service booking bookings reception press hr jobs careers billing"""
)


def _role_account(email: str) -> bool:
    """A shared mailbox (info@, sales@): listed after a person's own address."""
    return email.split("@")[0] in ROLE_ACCOUNTS


def _line_pitches(segments: Sequence[Segment]) -> list[tuple[float, float]]:
    """(text height, top-to-top pitch) of each line and the next line stacked under it.

    Only lines of one size aligned on one edge or centre count: the card's own line spacing.
    """
    pairs: list[tuple[float, float]] = []
    for seg in segments:
        below = [
            o
            for o in segments
            if o is not seg
            and o.box[1] > seg.box[1]
            and abs(o.height - seg.height) <= 0.25 * max(o.height, seg.height)
            and min(abs(o.box[0] - seg.box[0]), abs(o.box[2] - seg.box[2]), abs(o.center_x - seg.center_x))
            < 0.5 * seg.height
            and _vertical_gap(seg, o) >= 0
        ]
        if below:
            nearest = min(below, key=lambda o: o.box[1])
            pairs.append((seg.height, float(nearest.box[1] - seg.box[1])))
    return pairs


def _next_in_block(upper: Segment, lower: Segment, pitches: Sequence[tuple[float, float]]) -> bool:
    """Whether ``lower`` sits close enough under ``upper`` to continue its block.

    Close is a gap under 1.2 text heights, or a top-to-top pitch no wider than the card's usual
    pitch for lines of this size (blocks are evenly spaced, however loosely a card is set).
    """
    if _vertical_gap(upper, lower) < 1.2 * upper.height:
        return True
    similar = [p for h, p in pitches if abs(h - upper.height) <= 0.3 * upper.height]
    if len(similar) < 2:
        return False
    usual = statistics.median(similar)
    return lower.box[1] - upper.box[1] <= min(1.2 * usual, 3.2 * upper.height)


def _reading_order(items: list[tuple[Segment, str]]) -> list[tuple[Segment, str]]:
    """Top to bottom, and left to right within a printed row (segments overlapping vertically by half)."""
    rows: list[list[tuple[Segment, str]]] = []
    for item in sorted(items, key=lambda p: (p[0].box[1] + p[0].box[3]) / 2):
        seg = item[0]
        if rows:
            last = rows[-1][0][0]
            overlap = min(seg.box[3], last.box[3]) - max(seg.box[1], last.box[1])
            if overlap > 0.5 * min(seg.box[3] - seg.box[1], last.box[3] - last.box[1]):
                rows[-1].append(item)
                continue
        rows.append([item])
    return [item for row in rows for item in sorted(row, key=lambda p: p[0].box[0])]


def _address_tail(candidate: Segment, current: Segment, direction: int) -> bool:
    """A short place line next to an address line ("Sydney", "Germany") belongs to the block."""
    text = candidate.text.strip()
    if direction > 0 and country_in(text):
        return True
    if name_shape(text) > 0 or title_shape(text) > 0 or company_shape(text) > 0:
        return False
    return bool(re.fullmatch(r"[A-ZÀ-Þ][\w' .-]+(?:,\s*[A-Z]{2,3})?(?:\s+\d{4,5})?", text)) and direction > 0


def _clean_address_line(text: str) -> str:
    text = re.sub(r"\s*[;]\s*", ", ", text)  # a comma read as a semicolon
    text = re.sub(r"\s+,", ",", text)
    text = re.sub(r"(?i)\b(\w*stra)[b8]e\b", r"\1ße", text)  # German ß read as b or 8
    return " ".join(text.split()).strip(" ,;")


def _people_and_companies(
    result: Extraction, pool: list[Segment], emails: list[str], hosts: list[str]
) -> None:
    """Name, title and company from the lines that hold no contact data, by shape and layout."""
    pool = [s for s in pool if sum(ch.isalpha() for ch in s.text) >= 2 and s.confidence >= 0.5]
    if not pool:
        return
    domains = sorted({h.split("/")[0] for h in hosts})
    tallest = max(s.height for s in pool)

    # Monograms: a short all-caps line equal to the initials of another line is a logo.
    initials = {
        "".join(t[0] for t in _tokens(s.text) if t[0].isalpha()).upper()
        for s in pool
        if len(_tokens(s.text)) > 1
    }
    pool = [s for s in pool if not (len(s.text) <= 4 and s.text.isupper() and s.text in initials)]
    if not pool:
        return

    # The person's name.
    def name_score(seg: Segment) -> float:
        shape = name_shape(seg.text)
        if shape == 0:
            return 0.0
        return (
            shape
            + 0.8 * (seg.height / tallest)
            + 1.2 * email_name_match(seg.text, emails)
            - 1.0 * domain_match(seg.text, domains)
            - 0.5 * company_shape(seg.text)
        )

    ranked = sorted(pool, key=name_score, reverse=True)
    name_seg = ranked[0] if ranked and name_score(ranked[0]) >= 1.0 else None
    if name_seg is not None:
        name_seg.role = "name"
        full = " ".join(name_seg.text.split()).strip(" ,")
        result.full_name = full
        result.given_name, result.family_name = split_person_name(full)
        certainty = min(
            1.0, 0.55 + 0.25 * email_name_match(full, emails) + 0.2 * (name_seg.height >= 0.9 * tallest)
        )
        result.confidence["full_name"] = round(name_seg.confidence * certainty, 2)
        result.confidence["given_name"] = result.confidence["full_name"]
        result.confidence["family_name"] = result.confidence["full_name"]

    left = [s for s in pool if s.role is None]

    # The company: legal suffix, industry words, or the email/web domain; may span two lines.
    def company_score(seg: Segment) -> float:
        return company_shape(seg.text) + 1.5 * domain_match(seg.text, domains) - 0.8 * title_shape(seg.text)

    company_segs: list[Segment] = []
    if left:
        best = max(left, key=company_score)
        best_score = company_score(best)
        merged = _merge_company_lines(best, left, domains)
        if merged and (company_score_text(merged, domains) >= best_score or best_score < 0.5):
            company_segs = merged
        elif best_score >= 0.5:
            company_segs = [best]
    if company_segs:
        for seg in company_segs:
            seg.role = "company"
        joined = " ".join(" ".join(s.text for s in company_segs).split()).rstrip(":;,")
        text = _repair_from_domain(joined, domains)
        # "N.V", "S.A": a dotted legal form lost its closing dot to the OCR.
        text = re.sub(r"(?<!\S)((?:[A-Za-z]{1,2}\.)+[A-Za-z]{1,2})$", r"\1.", text)
        result.company = text
        certainty = min(1.0, 0.5 + 0.5 * max(company_shape(text), domain_match(text, domains)))
        result.confidence["company"] = round(min(s.confidence for s in company_segs) * certainty, 2)

    left = [s for s in pool if s.role is None]
    # The title: just under (or over) the name, in its column, not the company.
    title_seg: Segment | None = None
    if name_seg is not None:
        near = [
            s
            for s in left
            if _same_column(name_seg, s)
            and -2.5 * name_seg.height < s.box[1] - name_seg.box[3] < 2.5 * name_seg.height
            and s.height < name_seg.height * 0.95
        ]
        near.sort(
            key=lambda s: (
                s.box[1] < name_seg.box[1],
                abs(s.box[1] - name_seg.box[3]) - 40 * title_shape(s.text),
            )
        )
        for candidate in near:
            if company_shape(candidate.text) >= 0.9 and title_shape(candidate.text) < 0.6:
                continue
            if name_shape(candidate.text) > 0.8 and title_shape(candidate.text) == 0:
                continue
            title_seg = candidate
            break
    if title_seg is None:
        titled = [s for s in left if title_shape(s.text) >= 0.6]
        if titled:
            title_seg = max(titled, key=lambda s: title_shape(s.text))
    if title_seg is not None:
        title_seg.role = "title"
        result.title = " ".join(title_seg.text.split())
        certainty = 0.6 + 0.4 * title_shape(result.title)
        result.confidence["title"] = round(title_seg.confidence * certainty, 2)


def _repair_from_domain(text: str, domains: Sequence[str]) -> str:
    """Fix a few misread letters of a company name that the card's domain spells out.

    "Stuaio Biancni" with studiobianchi.it becomes "Studio Bianchi": same letter count, at most two
    letters differ, each a classic OCR confusion. Anything else is left as read.
    """
    pairs = ("ad", "cd", "hn", "il", "rn", "ec", "oa", "uv", "vy", "ce", "ao", "bh", "nm")
    confusable = {frozenset(p) for p in pairs}
    letters = [i for i, ch in enumerate(text) if ch.isalnum()]
    squashed = "".join(text[i] for i in letters).lower()
    for domain in domains:
        label = domain.split("/")[0].removeprefix("www.").split(".")[0]
        for candidate in (label, label[: len(squashed)]):
            if len(candidate) != len(squashed) or not candidate.isalnum() or candidate == squashed:
                continue
            diffs = [k for k in range(len(squashed)) if squashed[k] != candidate[k]]
            slips = all(frozenset((squashed[k], candidate[k])) in confusable for k in diffs)
            if 0 < len(diffs) <= 2 and slips:
                chars = list(text)
                for k in diffs:
                    original = chars[letters[k]]
                    chars[letters[k]] = candidate[k].upper() if original.isupper() else candidate[k]
                return "".join(chars)
    return text


def company_score_text(segs: Sequence[Segment], domains: Sequence[str]) -> float:
    """The company score of several lines read as one name."""
    text = " ".join(s.text for s in segs)
    return company_shape(text) + 1.5 * domain_match(text, domains)


def _merge_company_lines(
    seg: Segment, pool: Sequence[Segment], domains: Sequence[str]
) -> list[Segment] | None:
    """The company line with the line stacked right above or below it, when together they read better."""
    options: list[list[Segment]] = []
    for other in pool:
        if other is seg or not _same_column(seg, other):
            continue
        if abs(other.height - seg.height) > 0.35 * max(other.height, seg.height):
            continue
        if title_shape(other.text) >= 0.6 or (
            name_shape(other.text) >= 0.8 and company_shape(other.text) == 0 and not domains
        ):
            continue
        if 0 <= _vertical_gap(other, seg) < 1.0 * seg.height:
            options.append([other, seg])
        elif 0 <= _vertical_gap(seg, other) < 1.0 * seg.height:
            options.append([seg, other])
    if not options:
        return None
    best = max(options, key=lambda o: company_score_text(o, domains))
    single = company_shape(seg.text) + 1.5 * domain_match(seg.text, domains)
    return best if company_score_text(best, domains) > single + 0.1 else None
