"""Plausible employers, their people and their timeline entries, from a seeded random source.

Both data sets use this: the demo feeds the plans through the services, the scale generator
turns them into rows. Everything is drawn from the `random.Random` it is given, so the same
seed gives the same register.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from dataclasses import dataclass, field

from crm.activities.models import ActivityKind
from crm.contacts.models import ConsentBasis, ContactRole
from crm.demo.countries import COUNTRIES, City, Country, feminine_surname
from crm.demo.sectors import EXTRA_TAGS, SECTOR_WEIGHTS, SECTORS, Sector
from crm.demo.stories import JOB_TITLES, ORGANISATION_NOTES, STAGES
from crm.organisations.models import CapacityPeriod, SizeBand
from crm.organisations.service import name_key, registration_key, website_domain

ROLE_ORDER = (
    ContactRole.FOCAL_PERSON,
    ContactRole.DECISION_MAKER,
    ContactRole.WORKPLACE_SUPERVISOR,
    ContactRole.OTHER,
)
SIZE_BANDS = (SizeBand.MICRO, SizeBand.SMALL, SizeBand.MEDIUM, SizeBand.LARGE)
SIZE_WEIGHTS = (30, 40, 22, 8)
PLEDGE_RANGES = {
    SizeBand.MICRO: (0, 2),
    SizeBand.SMALL: (1, 4),
    SizeBand.MEDIUM: (2, 8),
    SizeBand.LARGE: (4, 15),
}
CONSENT_BASES = (ConsentBasis.LEGITIMATE_INTEREST, ConsentBasis.CONSENT, ConsentBasis.CONTRACT)
CONSENT_WEIGHTS = (60, 25, 15)
# Every tag the generators may use: the sectors' own and the cross-cutting ones.
TAG_POOL: tuple[str, ...] = tuple(
    dict.fromkeys([*(tag for sector in SECTORS for tag in sector.tags), *EXTRA_TAGS])
)

_GERMAN_LETTERS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_OTHER_LETTERS = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d"})
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHJKLMNPRSTVWXY"


def ascii_slug(text: str, country: str, separator: str = "-") -> str:
    """Lower-case ASCII for domains and mailboxes, spelling umlauts out where Germans do."""
    lowered = text.lower()
    if country in ("DE", "AT"):
        lowered = lowered.translate(_GERMAN_LETTERS)
    lowered = lowered.translate(_OTHER_LETTERS)
    decomposed = unicodedata.normalize("NFKD", lowered)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_SLUG.sub(separator, plain.replace("'", "")).strip(separator)


@dataclass(frozen=True)
class ContactPlan:
    """A person to create at an employer."""

    first_name: str
    last_name: str
    role: ContactRole
    job_title: str
    email: str
    phone: str
    preferred_language: str
    consent_basis: ConsentBasis | None
    consent_date: dt.date | None


@dataclass(frozen=True)
class EmployerPlan:
    """An employer to create, with its contacts."""

    legal_name: str
    nace_code: str
    country: str
    city: str
    address: str
    website: str
    registration_number: str
    size_band: SizeBand
    capacity_pledge: int
    capacity_period: CapacityPeriod
    tags: tuple[str, ...]
    notes: str
    contacts: tuple[ContactPlan, ...]


@dataclass
class TakenKeys:
    """Duplicate keys already used, so that no two made-up employers look like one."""

    names: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)
    registrations: set[str] = field(default_factory=set)


class EmployerMaker:
    """Draws employers, contacts and timeline entries from one seeded random source."""

    def __init__(self, rng: random.Random, today: dt.date, taken: TakenKeys | None = None):
        self.rng = rng
        self.today = today
        self.taken = taken or TakenKeys()

    def fill(self, pattern: str) -> str:
        """Replace `#` by random digits and `@` by random capitals."""
        choice = self.rng.choice
        return "".join(
            choice(_DIGITS) if ch == "#" else choice(_LETTERS) if ch == "@" else ch
            for ch in pattern
        )

    def phone(self, pattern: str) -> str:
        """A phone number of the pattern whose subscriber part does not start with 0."""
        number = self.fill(pattern)
        first = pattern.index("#")
        return number[:first] + self.rng.choice(_DIGITS[1:]) + number[first + 1 :]

    def sector(self) -> Sector:
        """A sector, weighted towards the trades that host most learners."""
        return self.rng.choices(SECTORS, weights=SECTOR_WEIGHTS)[0]

    def employer(self, country_code: str, sector: Sector, contacts: int) -> EmployerPlan:
        """A new employer in the country and sector, with `contacts` people."""
        rng = self.rng
        country = COUNTRIES[country_code]
        city, core, form = self._unique_name(country, sector)
        legal_name = country.legal_name.format(core=core, form=form)
        domain = self._unique_domain(core, country)
        size_band = rng.choices(SIZE_BANDS, weights=SIZE_WEIGHTS)[0]
        low, high = PLEDGE_RANGES[size_band]
        street = country.street_line.format(
            street=rng.choice(country.streets), number=rng.randint(1, 180)
        )
        postal = country.postal_line.format(postcode=self.fill(city.postcode), city=city.name)
        people = tuple(
            self.contact(country, sector, city, domain, ROLE_ORDER[i] if i < 4 else None)
            for i in range(contacts)
        )
        return EmployerPlan(
            legal_name=legal_name,
            nace_code=sector.nace_code,
            country=country.code,
            city=city.name,
            address=f"{street}\n{postal}",
            website=f"https://www.{domain}",
            registration_number=self._unique_registration(country),
            size_band=size_band,
            capacity_pledge=0 if rng.random() < 0.15 else rng.randint(low, high),
            capacity_period=CapacityPeriod.TERM if rng.random() < 0.2 else CapacityPeriod.YEAR,
            tags=self._tags(sector),
            notes=rng.choice(ORGANISATION_NOTES) if rng.random() < 0.25 else "",
            contacts=people,
        )

    def contact(
        self,
        country: Country,
        sector: Sector,
        city: City,
        domain: str,
        role: ContactRole | None = None,
    ) -> ContactPlan:
        """A person at an employer, named and reachable the way people in the country are."""
        rng = self.rng
        role = role or rng.choice((ContactRole.WORKPLACE_SUPERVISOR, ContactRole.OTHER))
        is_woman = rng.random() < 0.5
        first = rng.choice(country.women if is_woman else country.men)
        surname = rng.choice(country.surnames)
        last = feminine_surname(country.code, surname) if is_woman else surname
        if country.code == "ES":
            last = f"{last} {rng.choice([s for s in country.surnames if s != surname])}"
        titles = sector.supervisor_titles if role is ContactRole.WORKPLACE_SUPERVISOR else ()
        # Spaniards carry two surnames but usually give the first one in their address.
        family = last.split()[0] if country.code == "ES" else last
        mailbox_last = ascii_slug(family, country.code, "")
        mailbox_first = ascii_slug(first, country.code, "")
        style = rng.random()
        if style < 0.7:
            mailbox = f"{mailbox_first}.{mailbox_last}"
        elif style < 0.9:
            mailbox = f"{mailbox_first[0]}.{mailbox_last}"
        else:
            mailbox = mailbox_first
        has_consent = rng.random() < 0.85
        return ContactPlan(
            first_name=first,
            last_name=last,
            role=role,
            job_title=rng.choice(titles or JOB_TITLES[role]),
            email=f"{mailbox}@{domain}",
            phone=self.phone(city.phone),
            preferred_language=country.language,
            consent_basis=rng.choices(CONSENT_BASES, weights=CONSENT_WEIGHTS)[0]
            if has_consent
            else None,
            consent_date=self.today - dt.timedelta(days=rng.randint(10, 700))
            if has_consent
            else None,
        )

    def entry(self, progress: float) -> tuple[ActivityKind, str, str]:
        """A timeline entry fitting how far (0 to 1) the relationship has come."""
        if progress <= 0:  # a timeline opens with how the employer was found or approached
            return self.rng.choice(STAGES[0][:3])
        stage = min(len(STAGES) - 1, int(len(STAGES) * progress + self.rng.random() - 0.5))
        return self.rng.choice(STAGES[max(stage, 0)])

    def wording(self, text: str, first_name: str | None) -> str:
        """An entry's body with the contact's first name and a number of learners filled in."""
        return text.format(name=first_name or "the team", n=self.rng.randint(2, 4))

    # --- uniqueness -------------------------------------------------------------------------

    def _unique_name(self, country: Country, sector: Sector) -> tuple[City, str, str]:
        """A business name nobody has yet; common ones get a partner, a founder or a place."""
        rng = self.rng
        for attempt in range(12):
            city = rng.choice(country.cities)
            core = self._core_name(country, sector, city, attempt >= 3)
            form = rng.choice(country.legal_forms)
            if self._claim_name(country, core, form):
                return city, core, form
        base, number = core, 2
        while not self._claim_name(country, core, form):
            core, number = f"{base} {number}", number + 1
        return city, core, form

    def _core_name(self, country: Country, sector: Sector, city: City, is_common: bool) -> str:
        rng = self.rng
        pattern = rng.choice(sector.names[country.code])
        surname = rng.choice(country.surnames)
        variant = rng.randrange(3) if is_common else 0
        if variant == 1 or (variant == 0 and pattern.startswith("{s} ") and rng.random() < 0.1):
            partner = rng.choice([s for s in country.surnames if s != surname])
            surname = f"{surname} & {partner}"
        elif variant == 2 and rng.random() < 0.5:
            surname = f"{rng.choice(country.women)} {feminine_surname(country.code, surname)}"
        elif variant == 2:
            surname = f"{rng.choice(country.men)} {surname}"
        core = pattern.format(s=surname, c=city.name)
        if is_common and rng.random() < 0.3:
            core = f"{core} {city.name}"
        return core

    def _claim_name(self, country: Country, core: str, form: str) -> bool:
        # The register's key keeps dotted legal forms ("B.V." gives "b v"), so the name is
        # claimed both with and without its form: "Jansen B.V." also rules out "Jansen N.V.".
        keys = {name_key(core), name_key(country.legal_name.format(core=core, form=form))}
        if keys & self.taken.names:
            return False
        self.taken.names.update(keys)
        return True

    def _unique_domain(self, core: str, country: Country) -> str:
        base = f"{ascii_slug(core, country.code)[:40].strip('-')}.{country.domain}"
        domain, number = base, 2
        while website_domain(domain) in self.taken.domains:
            domain = base.replace(".", f"-{number}.", 1)
            number += 1
        self.taken.domains.add(website_domain(domain))
        return domain

    def _unique_registration(self, country: Country) -> str:
        while True:
            number = self.fill(country.registration)
            key = registration_key(number)
            if key not in self.taken.registrations:
                self.taken.registrations.add(key)
                return number

    def _tags(self, sector: Sector) -> tuple[str, ...]:
        rng = self.rng
        tags: list[str] = []
        if rng.random() < 0.6:
            tags.append(rng.choice(sector.tags))
        if rng.random() < 0.35:
            tags.append(rng.choice(EXTRA_TAGS))
        return tuple(dict.fromkeys(tags))
