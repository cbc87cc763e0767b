"""The employer register: create, change, archive, find and de-duplicate organisations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.core.pagination import Page, paginate
from crm.core.search import search_conditions
from crm.core.text import fold, search_terms
from crm.db import utcnow
from crm.extensions import db
from crm.organisations import nace
from crm.organisations.models import CapacityPeriod, Organisation, SizeBand, Tag, organisation_tags

# Legal-form words dropped when comparing names ("Müller GmbH" = "Mueller" is not attempted,
# but "Müller GmbH" = "muller gmbh." = "MÜLLER").
LEGAL_FORMS = frozenset(
    """
    ab ad ae ag and aps as asa bv bvba co corp cv cvba
    dac dd doo ead ee ek eood epe eu eurl ev gie gmbh hb
    ike inc is kb kft kg kgaa ks lda limited llc llp ltd ltda
    mbh nv nyrt oe og ohg ood ou oy oyj plc sa sarl sas
    sasu scrl se sgps sia sl sll slu snc sp spa sprl spzoo srl
    sro the uab ug unipessoal vof vos zoo zrt
    αε επε ικε οε εε
    """.split()
)
# Legal forms of several words, matched after folding ("sp. z o.o." folds to "sp z oo").
MULTI_WORD_LEGAL_FORMS = ("sp z oo", "sp zoo", "s de rl", "co kg")


class OrganisationError(Exception):
    """A rule about organisations was broken; the message is fit to show the user."""


@dataclass(frozen=True)
class OrganisationValues:
    """What a form hands the service to create or change an organisation."""

    legal_name: str
    nace_code: str
    country: str
    trading_name: str = ""
    registration_number: str = ""
    size_band: SizeBand | None = None
    city: str = ""
    address: str = ""
    website: str = ""
    notes: str = ""
    capacity_pledge: int = 0
    capacity_period: CapacityPeriod = CapacityPeriod.YEAR
    tags: tuple[str, ...] = ()
    owner_id: int | None = None


@dataclass(frozen=True)
class OrganisationFilters:
    """What the organisation list is asked to show."""

    query: str = ""
    section: str = ""
    country: str = ""
    owner_id: int | None = None
    tag: str = ""
    include_archived: bool = False
    sort: str = "name"


@dataclass
class OrganisationRow:
    """An organisation on the list page with the figures shown beside it."""

    organisation: Organisation
    contacts_count: int = 0


@dataclass
class DuplicateMatch:
    """An existing organisation that looks like the one being created, and why."""

    organisation: Organisation
    reasons: list[str] = field(default_factory=list)


# --- keys -----------------------------------------------------------------------------------


def name_key(name: str) -> str:
    """A name without case, accents, punctuation or legal form, for duplicate detection.

    Dots are dropped before folding so that "B.V." and "BV", "S.r.l." and "Srl" compare alike.
    """
    folded = fold(name.replace(".", ""))
    for phrase in MULTI_WORD_LEGAL_FORMS:
        folded = f" {folded} ".replace(f" {phrase} ", " ").strip()
    words = [w for w in folded.split() if w not in LEGAL_FORMS]
    return "".join(words) or fold(name).replace(" ", "")


def website_domain(website: str) -> str:
    """The host of a website address, lower-case and without `www.`."""
    text = website.strip().lower()
    if not text:
        return ""
    if "://" not in text:
        text = "http://" + text
    host = urlsplit(text).hostname or ""
    return host.removeprefix("www.")


def registration_key(number: str) -> str:
    """A registration or VAT number without spaces, dots or dashes, upper-case."""
    return "".join(ch for ch in number.upper() if ch.isalnum())


def normalise_website(website: str) -> str:
    """Add `https://` to a bare domain so that the link works."""
    text = website.strip()
    if text and "://" not in text:
        text = "https://" + text
    return text


def parse_tags(raw: str) -> tuple[str, ...]:
    """Comma-separated tags, trimmed, lower-cased and without repeats."""
    seen: dict[str, None] = {}
    for part in raw.split(","):
        tag = " ".join(part.split()).lower()[:60]
        if tag:
            seen[tag] = None
    return tuple(seen)


def refresh_search_text(organisation: Organisation, contact_names: Sequence[str]) -> None:
    """Rebuild the folded text the list's search box matches against."""
    organisation.search_text = " ".join(
        fold(part)
        for part in (
            organisation.legal_name,
            organisation.trading_name,
            organisation.city,
            organisation.registration_number,
            *contact_names,
        )
        if part
    )


def _contact_names(organisation: Organisation) -> list[str]:
    if organisation.id is None:
        return []
    rows = db.session.execute(
        sa.select(Contact.first_name, Contact.last_name).where(
            Contact.organisation_id == organisation.id, Contact.archived_at.is_(None)
        )
    )
    return [f"{first} {last}" for first, last in rows]


# --- permissions ----------------------------------------------------------------------------


def can_edit(user: User, organisation: Organisation) -> bool:
    """Officers edit their own portfolio; managers and admins edit every organisation."""
    return user.sees_everything or organisation.owner_id == user.id


# --- reading --------------------------------------------------------------------------------


def get_organisation(organisation_id: int) -> Organisation | None:
    """An organisation with its owner and tags loaded (every account may read the register)."""
    return db.session.scalar(
        sa.select(Organisation)
        .where(Organisation.id == organisation_id)
        .options(joinedload(Organisation.owner), selectinload(Organisation.tags))
    )


def find_duplicates(
    values: OrganisationValues, exclude_id: int | None = None
) -> list[DuplicateMatch]:
    """Existing organisations with the same normalised name, website domain or registration."""
    key = name_key(values.legal_name)
    trading_key = name_key(values.trading_name) if values.trading_name else ""
    domain = website_domain(values.website)
    registration = registration_key(values.registration_number)
    conditions = []
    if key:
        conditions.append(Organisation.name_key == key)
    if trading_key:
        conditions.append(Organisation.name_key == trading_key)
    if domain:
        conditions.append(Organisation.website_domain == domain)
    if registration:
        conditions.append(Organisation.registration_key == registration)
    if not conditions:
        return []
    query = sa.select(Organisation).where(sa.or_(*conditions)).order_by(Organisation.id).limit(10)
    if exclude_id is not None:
        query = query.where(Organisation.id != exclude_id)
    matches = []
    for organisation in db.session.scalars(query):
        reasons = []
        if organisation.name_key in (key, trading_key):
            reasons.append(_("same name"))
        if domain and organisation.website_domain == domain:
            reasons.append(_("same website (%(domain)s)", domain=domain))
        if registration and organisation.registration_key == registration:
            reasons.append(_("same registration number"))
        matches.append(DuplicateMatch(organisation=organisation, reasons=reasons))
    return matches


def list_organisations(
    filters: OrganisationFilters, page: int, per_page: int
) -> Page[OrganisationRow]:
    """One page of the organisation list in a fixed number of statements."""
    conditions: list[sa.ColumnElement[bool]] = []
    if not filters.include_archived:
        conditions.append(Organisation.archived_at.is_(None))
    conditions += search_conditions(
        Organisation.search_text,
        Organisation.id,
        "organisation_search",
        search_terms(filters.query),
    )
    if filters.section:
        conditions.append(Organisation.nace_code.in_(nace.divisions_in_section(filters.section)))
    if filters.country:
        conditions.append(Organisation.country == filters.country)
    if filters.owner_id:
        conditions.append(Organisation.owner_id == filters.owner_id)
    if filters.tag:
        conditions.append(
            Organisation.id.in_(
                sa.select(organisation_tags.c.organisation_id)
                .join(Tag, Tag.id == organisation_tags.c.tag_id)
                .where(Tag.name == filters.tag.lower())
            )
        )
    query = (
        sa.select(Organisation)
        .where(*conditions)
        .options(joinedload(Organisation.owner), selectinload(Organisation.tags))
        .order_by(*_organisation_order(filters.sort))
    )
    count_query = sa.select(sa.func.count()).select_from(Organisation).where(*conditions)
    result = paginate(query, page, per_page, count_query=count_query)
    counts = _contact_counts([o.id for o in result.items])
    rows = [
        OrganisationRow(organisation=o, contacts_count=counts.get(o.id, 0)) for o in result.items
    ]
    return Page(items=rows, page=result.page, per_page=result.per_page, total=result.total)


ORGANISATION_SORTS = ("name", "-name", "city", "country", "-last_activity", "-created")


def _organisation_order(sort: str) -> list[Any]:
    columns: dict[str, list[Any]] = {
        "name": [Organisation.sort_name.asc()],
        "-name": [Organisation.sort_name.desc()],
        "city": [Organisation.city.asc(), Organisation.sort_name.asc()],
        "country": [Organisation.country.asc(), Organisation.sort_name.asc()],
        "-last_activity": [Organisation.last_activity_at.desc().nulls_last()],
        "-created": [Organisation.created_at.desc()],
    }
    return [*columns.get(sort, columns["name"]), Organisation.id.asc()]


def _contact_counts(organisation_ids: list[int]) -> dict[int, int]:
    if not organisation_ids:
        return {}
    rows = db.session.execute(
        sa.select(Contact.organisation_id, sa.func.count())
        .where(Contact.organisation_id.in_(organisation_ids), Contact.archived_at.is_(None))
        .group_by(Contact.organisation_id)
    )
    return {row[0]: row[1] for row in rows}


def owners() -> list[User]:
    """Accounts that can own organisations, for owner pickers and filters."""
    return list(
        db.session.scalars(
            sa.select(User).where(User.is_active_account.is_(True)).order_by(User.name)
        )
    )


def owner_filter_choices() -> list[User]:
    """Everyone who may own records, deactivated accounts last (their records stay owned)."""
    return list(
        db.session.scalars(sa.select(User).order_by(User.is_active_account.desc(), User.name))
    )


def all_tags() -> list[str]:
    """Every tag in use, for the filter."""
    return list(db.session.scalars(sa.select(Tag.name).order_by(Tag.name)))


# --- writing --------------------------------------------------------------------------------


def _check(values: OrganisationValues) -> None:
    if nace.division(values.nace_code) is None:
        raise OrganisationError(_("Choose a sector from the NACE list."))
    if values.capacity_pledge < 0:
        raise OrganisationError(_("The capacity pledge cannot be negative."))


def _tag_objects(names: Sequence[str]) -> list[Tag]:
    names = list(dict.fromkeys(names))  # a tag given twice is one tag
    if not names:
        return []
    existing = {t.name: t for t in db.session.scalars(sa.select(Tag).where(Tag.name.in_(names)))}
    tags = []
    for name in names:
        tag = existing.get(name)
        if tag is None:
            tag = Tag(name=name)
            db.session.add(tag)
        tags.append(tag)
    return tags


def _apply(organisation: Organisation, values: OrganisationValues) -> None:
    organisation.legal_name = values.legal_name.strip()
    organisation.trading_name = values.trading_name.strip()
    organisation.registration_number = values.registration_number.strip()
    organisation.nace_code = values.nace_code
    organisation.size_band = values.size_band
    organisation.country = values.country.upper()
    organisation.city = values.city.strip()
    organisation.address = values.address.strip()
    organisation.website = normalise_website(values.website)
    organisation.notes = values.notes.strip()
    organisation.capacity_pledge = values.capacity_pledge
    organisation.capacity_period = values.capacity_period
    organisation.tags = _tag_objects(values.tags)
    organisation.sort_name = fold(organisation.display_name)
    organisation.name_key = name_key(organisation.legal_name)
    organisation.website_domain = website_domain(organisation.website)
    organisation.registration_key = registration_key(organisation.registration_number)


def create_organisation(
    values: OrganisationValues, acting: User, duplicate_reason: str = ""
) -> Organisation:
    """Add an organisation; if it looks like an existing one a reason must be given."""
    _check(values)
    duplicates = find_duplicates(values)
    if duplicates and not duplicate_reason.strip():
        raise OrganisationError(
            _("This looks like an organisation already in the register; give a reason to go on.")
        )
    owner_id = values.owner_id if acting.sees_everything and values.owner_id else acting.id
    organisation = Organisation(
        owner_id=owner_id,
        # Kept only when a similar record really existed: it explains a near-duplicate.
        duplicate_reason=duplicate_reason.strip() if duplicates else "",
    )
    _apply(organisation, values)
    refresh_search_text(organisation, [])
    db.session.add(organisation)
    db.session.flush()
    return organisation


def update_organisation(
    organisation: Organisation, values: OrganisationValues, acting: User
) -> None:
    """Change an organisation the user may edit."""
    if not can_edit(acting, organisation):
        raise PermissionError("not allowed")
    _check(values)
    _apply(organisation, values)
    if acting.sees_everything and values.owner_id:
        organisation.owner_id = values.owner_id
    refresh_search_text(organisation, _contact_names(organisation))
    _refresh_contacts_search_text(organisation)
    db.session.flush()


def set_archived(
    organisation: Organisation, archived: bool, acting: User, now: dt.datetime | None = None
) -> None:
    """Archive (hide from lists, keep everything) or restore an organisation."""
    if not can_edit(acting, organisation):
        raise PermissionError("not allowed")
    organisation.archived_at = (now or utcnow()) if archived else None
    db.session.flush()


def _refresh_contacts_search_text(organisation: Organisation) -> None:
    from crm.contacts.service import contact_search_text

    contacts = db.session.scalars(
        sa.select(Contact).where(Contact.organisation_id == organisation.id)
    )
    for contact in contacts:
        contact.search_text = contact_search_text(contact, organisation)
