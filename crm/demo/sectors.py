"""Sectors (NACE divisions) with company-name patterns in each country's language.

A pattern names the business without its legal form: `{s}` is a surname, `{c}` the city.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sector:
    """A NACE division with how its firms are named and who supervises learners there."""

    nace_code: str
    names: dict[str, tuple[str, ...]]
    supervisor_titles: tuple[str, ...]
    tags: tuple[str, ...]


def _names(**by_country: str) -> dict[str, tuple[str, ...]]:
    return {code: tuple(p.strip() for p in text.split("|")) for code, text in by_country.items()}


SECTORS: tuple[Sector, ...] = (
    Sector(
        "25",
        _names(
            DE="{s} Metallbau|Stahlbau {s}|{s} Blechtechnik",
            AT="{s} Metalltechnik|Schlosserei {s}",
            PT="Serralharia {s}|Metalomecânica {s}",
            GR="{s} Metallikes Kataskeves|Sidirourgia {s}",
            NL="{s} Metaalbewerking|Constructiebedrijf {s}",
            FR="Métallerie {s}|Chaudronnerie {s}",
            ES="Talleres Metálicos {s}|Cerrajería {s}",
            IT="{s} Carpenteria Metallica|Officina Meccanica {s}",
            IE="{s} Steel Fabrication|{s} Precision Engineering",
            PL="{s} Konstrukcje Stalowe|Ślusarstwo {s}",
        ),
        ("Workshop Supervisor", "Welding Foreman", "Production Lead"),
        ("metalworking", "industry 4.0"),
    ),
    Sector(
        "29",
        _names(
            DE="{s} Fahrzeugtechnik|{s} Automotive Systems",
            AT="{s} Fahrzeugteile|{s} Automotive",
            PT="{s} Componentes Automóvel|Autopeças {s}",
            GR="{s} Automotive Parts",
            NL="{s} Automotive Components|{s} Carrosseriebouw",
            FR="{s} Équipements Automobiles|Carrosserie Industrielle {s}",
            ES="Componentes de Automoción {s}|{s} Automotive",
            IT="{s} Componenti Auto|{s} Automotive",
            IE="{s} Automotive Components",
            PL="{s} Części Samochodowe|{s} Automotive",
        ),
        ("Line Supervisor", "Quality Engineer", "Apprentice Trainer"),
        ("automotive cluster", "industry 4.0"),
    ),
    Sector(
        "43",
        _names(
            DE="{s} Haustechnik|Elektro {s}|{s} Dachdeckerei",
            AT="{s} Installationen|Elektrotechnik {s}",
            PT="{s} Instalações Elétricas|Canalizações {s}",
            GR="{s} Ilektrologikes Egkatastaseis|{s} Technikes Kataskeves",
            NL="{s} Installatietechniek|Elektrotechniek {s}",
            FR="{s} Électricité Générale|Plomberie {s}",
            ES="Instalaciones {s}|Fontanería {s}",
            IT="{s} Impianti Elettrici|Idraulica {s}",
            IE="{s} Electrical Contractors|{s} Plumbing & Heating",
            PL="{s} Instalacje Elektryczne|Zakład Instalacyjny {s}",
        ),
        ("Site Manager", "Master Electrician", "Site Foreman"),
        ("construction alliance", "green skills"),
    ),
    Sector(
        "16",
        _names(
            DE="Schreinerei {s}|{s} Holzbau",
            AT="Tischlerei {s}|{s} Holzbau",
            PT="Carpintaria {s}|Marcenaria {s}",
            GR="Xyloyrgia {s}",
            NL="Timmerfabriek {s}|{s} Houtbewerking",
            FR="Menuiserie {s}|Ébénisterie {s}",
            ES="Carpintería {s}|Maderas {s}",
            IT="Falegnameria {s}|{s} Legnami",
            IE="{s} Joinery|{s} Timber Products",
            PL="Stolarnia {s}|{s} Drewno",
        ),
        ("Master Carpenter", "Workshop Supervisor"),
        ("crafts", "green skills"),
    ),
    Sector(
        "45",
        _names(
            DE="Autohaus {s}|Kfz-Werkstatt {s}",
            AT="Autohaus {s}|Kfz-Technik {s}",
            PT="Oficina Auto {s}|Stand {s} Automóveis",
            GR="Synergeio Aftokiniton {s}",
            NL="Autobedrijf {s}|Garage {s}",
            FR="Garage {s}|Auto Service {s}",
            ES="Talleres {s}|Automóviles {s}",
            IT="Autofficina {s}|Concessionaria {s}",
            IE="{s} Motors|{s} Car Sales & Service",
            PL="Warsztat Samochodowy {s}|Auto Serwis {s}",
        ),
        ("Workshop Manager", "Master Mechanic", "Service Advisor"),
        ("automotive cluster", "apprenticeship ambassador"),
    ),
    Sector(
        "55",
        _names(
            DE="Hotel {s}|{s} Hotelbetriebe",
            AT="Hotel {s}|Gasthof {s}",
            PT="Hotel {s}|{s} Turismo",
            GR="Xenodocheio {s}|{s} Hotels",
            NL="Hotel {s}|{s} Hospitality",
            FR="Hôtel {s}|{s} Hôtellerie",
            ES="Hotel {s}|Hostal {s}",
            IT="Albergo {s}|Hotel {s}",
            IE="{s}'s Hotel|{s} Hospitality",
            PL="Hotel {s}|Pensjonat {s}",
        ),
        ("Front Office Manager", "Head of Housekeeping", "Training Coordinator"),
        ("hospitality", "tourism"),
    ),
    Sector(
        "56",
        _names(
            DE="Restaurant {s}|{s} Gastronomie",
            AT="Gasthaus {s}|{s} Catering",
            PT="Restaurante {s}|Pastelaria {s}",
            GR="Taverna {s}|Estiatorio {s}",
            NL="Restaurant {s}|{s} Catering",
            FR="Brasserie {s}|Traiteur {s}",
            ES="Restaurante {s}|Catering {s}",
            IT="Trattoria {s}|Ristorante {s}",
            IE="{s}'s Bistro|{s} Catering",
            PL="Restauracja {s}|{s} Catering",
        ),
        ("Head Chef", "Sous Chef", "Restaurant Manager"),
        ("hospitality", "inclusion-ready"),
    ),
    Sector(
        "62",
        _names(
            DE="{s} IT-Systeme|{s} Software",
            AT="{s} IT-Solutions|{s} Software",
            PT="{s} Sistemas de Informação|{s} Digital",
            GR="{s} Pliroforiki|{s} Software Solutions",
            NL="{s} ICT|{s} Software",
            FR="{s} Informatique|{s} Solutions Numériques",
            ES="{s} Informática|{s} Soluciones Digitales",
            IT="{s} Informatica|{s} Software",
            IE="{s} Software|{s} IT Solutions",
            PL="{s} Systemy IT|{s} Software",
        ),
        ("Team Lead Development", "IT Support Lead", "Scrum Master"),
        ("digital skills", "remote-friendly"),
    ),
    Sector(
        "86",
        _names(
            DE="Praxisklinik {s}|Pflegedienst {s}",
            AT="Ordination {s}|Gesundheitszentrum {s}",
            PT="Clínica {s}|Centro Médico {s}",
            GR="Iatreio {s}|Diagnostiko Kentro {s}",
            NL="Zorgcentrum {s}|Huisartsenpraktijk {s}",
            FR="Clinique {s}|Centre Médical {s}",
            ES="Clínica {s}|Centro Médico {s}",
            IT="Poliambulatorio {s}|Clinica {s}",
            IE="{s} Medical Centre|{s} Healthcare",
            PL="Przychodnia {s}|Centrum Medyczne {s}",
        ),
        ("Nursing Manager", "Practice Manager", "Senior Nurse"),
        ("health & care", "inclusion-ready"),
    ),
    Sector(
        "47",
        _names(
            DE="{s} Fachhandel|Bäckerei {s}",
            AT="{s} Handel|Feinkost {s}",
            PT="{s} Comércio|Mercearia {s}",
            GR="{s} Emporiki|Pantopoleio {s}",
            NL="{s} Winkels|Bakkerij {s}",
            FR="Boulangerie {s}|{s} Distribution",
            ES="Comercial {s}|Supermercados {s}",
            IT="{s} Commercio|Alimentari {s}",
            IE="{s} Retail|{s}'s Pharmacy",
            PL="Sklep {s}|{s} Handel",
        ),
        ("Store Manager", "Shift Supervisor", "Department Manager"),
        ("retail", "inclusion-ready"),
    ),
    Sector(
        "10",
        _names(
            DE="Großbäckerei {s}|{s} Feinkost",
            AT="{s} Fleischwaren|Bäckerei {s}",
            PT="{s} Conservas|Panificadora {s}",
            GR="Artopoiia {s}|{s} Galaktokomika",
            NL="{s} Zuivel|{s} Bakkerijen",
            FR="{s} Agroalimentaire|Fromagerie {s}",
            ES="Conservas {s}|Embutidos {s}",
            IT="Pastificio {s}|Caseificio {s}",
            IE="{s} Foods|{s} Dairy",
            PL="Piekarnia {s}|Zakłady Mięsne {s}",
        ),
        ("Production Supervisor", "Food Safety Officer", "Master Baker"),
        ("food & drink", "green skills"),
    ),
    Sector(
        "71",
        _names(
            DE="Ingenieurbüro {s}|{s} Architekten",
            AT="Ziviltechniker {s}|{s} Architektur",
            PT="{s} Engenharia|Atelier de Arquitetura {s}",
            GR="{s} Meletes Michanikon|{s} Architectonikes Meletes",
            NL="Ingenieursbureau {s}|{s} Architecten",
            FR="Bureau d'Études {s}|{s} Architectes",
            ES="{s} Ingeniería|Estudio de Arquitectura {s}",
            IT="Studio Tecnico {s}|{s} Ingegneria",
            IE="{s} Consulting Engineers|{s} Architects",
            PL="Biuro Projektowe {s}|{s} Inżynieria",
        ),
        ("Project Engineer", "Senior Architect", "Technical Director"),
        ("green skills", "digital skills"),
    ),
    Sector(
        "96",
        _names(
            DE="Friseursalon {s}|{s} Beauty",
            AT="Friseur {s}|Kosmetikstudio {s}",
            PT="Cabeleireiro {s}|Estética {s}",
            GR="Kommotirio {s}",
            NL="Kapsalon {s}|{s} Beauty",
            FR="Salon de Coiffure {s}|Institut {s}",
            ES="Peluquería {s}|Estética {s}",
            IT="Parrucchiere {s}|Centro Estetico {s}",
            IE="{s} Hair Studio|{s} Beauty Rooms",
            PL="Salon Fryzjerski {s}|Studio Urody {s}",
        ),
        ("Salon Manager", "Senior Stylist"),
        ("crafts", "inclusion-ready"),
    ),
)

# Where a VET provider finds most of its hosts: crafts, industry, hospitality, care, retail.
SECTOR_WEIGHTS: tuple[int, ...] = (12, 6, 12, 7, 10, 8, 10, 6, 7, 9, 6, 4, 3)

EXTRA_TAGS: tuple[str, ...] = (
    "erasmus+ mobility",
    "dual vet",
    "chamber member",
    "careers fair",
    "curriculum partner",
    "hires graduates",
    "summer placements",
    "women in tech",
    "sme network",
    "youth guarantee",
    "regional cluster",
    "mentoring programme",
    "site visits welcome",
    "needs interpreter",
    "apprenticeship ambassador",
)
