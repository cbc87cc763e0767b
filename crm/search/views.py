"""The global search box: organisations and contacts at once."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from crm.contacts.service import ContactFilters, list_contacts
from crm.organisations.service import OrganisationFilters, list_organisations

bp = Blueprint("search", __name__, url_prefix="/search")

RESULTS_PER_KIND = 10


@bp.get("/")
def index() -> str:
    query = request.args.get("q", "").strip()[:200]
    organisations = contacts = None
    if query:
        organisations = list_organisations(OrganisationFilters(query=query), 1, RESULTS_PER_KIND)
        contacts = list_contacts(ContactFilters(query=query), 1, RESULTS_PER_KIND)
    return render_template(
        "search/index.html", query=query, organisations=organisations, contacts=contacts
    )
