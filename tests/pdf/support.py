"""Helpers for the document tests: reading PDFs back with pypdf, subjects with agreements,
hostile field contents and the local server they aim at."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from crm.agreements.document import default_terms
from crm.agreements.models import Agreement, AgreementKind
from crm.auth.models import User
from crm.contacts.models import ContactRole
from crm.extensions import db
from crm.placements.models import Placement
from tests.factories import make_contact, make_organisation
from tests.placements.support import World
from tests.workflow.support import make_partnership

# --- reading PDFs -------------------------------------------------------------------------------


def reader(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def page_texts(data: bytes) -> list[str]:
    """Each page's text, whitespace collapsed (pypdf breaks lines where the PDF does)."""
    return [" ".join(page.extract_text().split()) for page in reader(data).pages]


def text_of(data: bytes) -> str:
    """The whole document's text, whitespace collapsed."""
    return " ".join(page_texts(data))


def metadata(data: bytes) -> dict[str, str]:
    """/Title, /Author, /Subject, ... and /Lang (from the catalogue)."""
    pdf = reader(data)
    info = {key: str(value) for key, value in (pdf.metadata or {}).items()}
    lang = pdf.trailer["/Root"].get("/Lang")
    if lang is not None:
        info["/Lang"] = str(lang)
    return info


def xmp(data: bytes) -> str:
    """The XMP metadata packet (PDF/A identification)."""
    stream = reader(data).trailer["/Root"]["/Metadata"].get_object()
    return stream.get_data().decode("utf-8")


def all_objects(data: bytes) -> list[Any]:
    """Every indirect object of the file (object streams included)."""
    pdf = reader(data)
    objects = []
    for number in range(1, int(pdf.trailer["/Size"])):
        try:
            obj = pdf.get_object(number)
        except Exception:  # a free entry
            continue
        if obj is not None:
            objects.append(obj)
    return objects


def embedded_files(data: bytes) -> list[str]:
    """Anything that embeds a file: the names tree's /EmbeddedFiles, /AF, file
    specifications, embedded-file streams, file attachment annotations."""
    found: list[str] = []
    pdf = reader(data)
    root = pdf.trailer["/Root"]
    if "/AF" in root:
        found.append("/AF in the catalogue")
    names = root.get("/Names")
    if names is not None and "/EmbeddedFiles" in names.get_object():
        found.append("/EmbeddedFiles in the names tree")
    found.extend(f"attachment {name}" for name in pdf.attachments)
    for obj in all_objects(data):
        if isinstance(obj, DictionaryObject):
            kind = obj.get("/Type")
            if kind in ("/Filespec", "/EmbeddedFile"):
                found.append(f"object of type {kind}")
            if obj.get("/Subtype") == "/FileAttachment":
                found.append("file attachment annotation")
    return found


def fonts(data: bytes) -> dict[str, bool]:
    """Each font's base name -> whether its program is embedded."""
    result: dict[str, bool] = {}
    for page in reader(data).pages:
        resources = page.get("/Resources")
        if resources is None:
            continue
        for font in (resources.get_object().get("/Font") or {}).values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descendants = font["/DescendantFonts"]
                if isinstance(descendants, IndirectObject):
                    descendants = descendants.get_object()
                assert isinstance(descendants, ArrayObject)
                descriptor = descendants[0].get_object().get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            result[str(font.get("/BaseFont"))] = any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    return result


def qpdf_check(data: bytes, tmp_path: Any) -> str | None:
    """qpdf --check's complaint, or None when it finds nothing (None also without qpdf)."""
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        return None
    path = tmp_path / "check.pdf"
    path.write_bytes(data)
    done = subprocess.run([qpdf, "--check", str(path)], capture_output=True, text=True)
    return None if done.returncode == 0 else done.stdout + done.stderr


# --- subjects with agreements ---------------------------------------------------------------------


@dataclass
class Subject:
    """An agreement and what it is about."""

    agreement: Agreement
    world: World | None = None
    placement: Placement | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def new_agreement(kind: AgreementKind, officer: User, **fields: Any) -> Agreement:
    """A draft agreement with the standard terms, made directly (not by the service)."""
    agreement = Agreement(
        kind=kind,
        officer_id=officer.id,
        language=fields.pop("language", "en"),
        terms=fields.pop("terms", default_terms(kind)),
        workflow_name="agreement",
        workflow_version=2,
        state="draft",
        **fields,
    )
    db.session.add(agreement)
    db.session.commit()
    return agreement


def placement_agreement_of(world: World, **placement_fields: Any) -> Subject:
    """A confirmed placement of the world's learner, supervised by its supervisor, and its
    draft agreement."""
    placement_fields.setdefault("supervisor_id", world.supervisor.id)
    placement_fields.setdefault("hours_target", 320)
    placement_fields.setdefault("workplace_address", "Werk 2, Hafenstr. 9, 20457 Hamburg")
    placement_fields.setdefault("role_description", "Assembles and tests gearboxes.")
    placement_fields.setdefault(
        "learning_objectives", "Reads technical drawings.\nSets up a CNC lathe."
    )
    placement = world.placement("confirmed", **placement_fields)
    agreement = new_agreement(
        AgreementKind.PLACEMENT,
        world.officer,
        placement_id=placement.id,
        organisation_id=world.organisation.id,
    )
    return Subject(agreement, world, placement)


def memorandum_of(officer: User) -> Subject:
    """A partnership with Werkzeugbau Kern GmbH (decision maker, focal person) and its
    draft memorandum."""
    organisation = make_organisation(
        officer,
        legal_name="Werkzeugbau Kern GmbH",
        address="Hafenstr. 5\n20457 Hamburg",
        city="Hamburg",
    )
    partnership = make_partnership(officer, "agreeing", organisation=organisation)
    focal = make_contact(
        organisation,
        role=ContactRole.FOCAL_PERSON,
        first_name="Frieda",
        last_name="Fokus",
        email="frieda@kern.test",
        job_title="HR officer",
    )
    decider = make_contact(
        organisation,
        role=ContactRole.DECISION_MAKER,
        first_name="Dana",
        last_name="Decider",
        email="dana@kern.test",
        job_title="Managing director",
    )
    agreement = new_agreement(
        AgreementKind.PARTNERSHIP,
        officer,
        partnership_id=partnership.id,
        organisation_id=organisation.id,
        valid_from=dt.date(2027, 1, 1),
        expires_on=dt.date(2028, 12, 31),
    )
    return Subject(
        agreement, extra={"focal": focal, "decider": decider, "partnership": partnership}
    )


# --- hostile content ------------------------------------------------------------------------------


class BaitServer:
    """An HTTP server on 127.0.0.1 that records the path of every request it gets."""

    def __init__(self) -> None:
        requests: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                body = b"body { color: red }"
                self.send_response(200)
                self.send_header("Content-Type", "text/css")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.requests = requests
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@dataclass(frozen=True)
class Bait:
    """Field contents that would fetch, embed or restyle if they reached the HTML unescaped."""

    bold: str
    attachment: str
    css_import: str
    remote_image: str
    css_file_url: str

    @classmethod
    def aimed_at(cls, server: BaitServer) -> Bait:
        return cls(
            bold="<b>bold</b>",
            attachment='<link rel="attachment" href="file:///etc/passwd">',
            css_import=f"<style>@import url({server.url('/import.css')});</style>",
            remote_image=f'<img src="{server.url("/x.png")}">',
            css_file_url=(
                '<p style="background: url(file:///etc/passwd)">x</p>'
                "<style>body { background-image: url(file:///etc/hostname) }</style>"
            ),
        )

    @property
    def all(self) -> list[str]:
        return [self.bold, self.attachment, self.css_import, self.remote_image, self.css_file_url]

    @property
    def joined(self) -> str:
        return " ".join(self.all)
