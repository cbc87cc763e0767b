"""NACE Rev. 2 sections and divisions, the EU's classification of economic activities."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class NaceDivision:
    """A two-digit NACE division within its lettered section."""

    code: str
    section: str
    label: object

    @property
    def display(self) -> str:
        return f"{self.section}{self.code} — {self.label}"


SECTIONS: dict[str, object] = {
    "A": _l("Agriculture, forestry and fishing"),
    "B": _l("Mining and quarrying"),
    "C": _l("Manufacturing"),
    "D": _l("Electricity, gas, steam and air conditioning supply"),
    "E": _l("Water supply; sewerage, waste management and remediation"),
    "F": _l("Construction"),
    "G": _l("Wholesale and retail trade; repair of motor vehicles"),
    "H": _l("Transportation and storage"),
    "I": _l("Accommodation and food service activities"),
    "J": _l("Information and communication"),
    "K": _l("Financial and insurance activities"),
    "L": _l("Real estate activities"),
    "M": _l("Professional, scientific and technical activities"),
    "N": _l("Administrative and support service activities"),
    "O": _l("Public administration and defence; compulsory social security"),
    "P": _l("Education"),
    "Q": _l("Human health and social work activities"),
    "R": _l("Arts, entertainment and recreation"),
    "S": _l("Other service activities"),
    "T": _l("Activities of households as employers"),
    "U": _l("Activities of extraterritorial organisations and bodies"),
}

_DIVISIONS: list[tuple[str, str, object]] = [
    ("A", "01", _l("Crop and animal production, hunting")),
    ("A", "02", _l("Forestry and logging")),
    ("A", "03", _l("Fishing and aquaculture")),
    ("B", "05", _l("Mining of coal and lignite")),
    ("B", "06", _l("Extraction of crude petroleum and natural gas")),
    ("B", "07", _l("Mining of metal ores")),
    ("B", "08", _l("Other mining and quarrying")),
    ("B", "09", _l("Mining support service activities")),
    ("C", "10", _l("Manufacture of food products")),
    ("C", "11", _l("Manufacture of beverages")),
    ("C", "12", _l("Manufacture of tobacco products")),
    ("C", "13", _l("Manufacture of textiles")),
    ("C", "14", _l("Manufacture of wearing apparel")),
    ("C", "15", _l("Manufacture of leather and related products")),
    ("C", "16", _l("Manufacture of wood and of products of wood and cork")),
    ("C", "17", _l("Manufacture of paper and paper products")),
    ("C", "18", _l("Printing and reproduction of recorded media")),
    ("C", "19", _l("Manufacture of coke and refined petroleum products")),
    ("C", "20", _l("Manufacture of chemicals and chemical products")),
    ("C", "21", _l("Manufacture of basic pharmaceutical products")),
    ("C", "22", _l("Manufacture of rubber and plastic products")),
    ("C", "23", _l("Manufacture of other non-metallic mineral products")),
    ("C", "24", _l("Manufacture of basic metals")),
    ("C", "25", _l("Manufacture of fabricated metal products")),
    ("C", "26", _l("Manufacture of computer, electronic and optical products")),
    ("C", "27", _l("Manufacture of electrical equipment")),
    ("C", "28", _l("Manufacture of machinery and equipment")),
    ("C", "29", _l("Manufacture of motor vehicles, trailers and semi-trailers")),
    ("C", "30", _l("Manufacture of other transport equipment")),
    ("C", "31", _l("Manufacture of furniture")),
    ("C", "32", _l("Other manufacturing")),
    ("C", "33", _l("Repair and installation of machinery and equipment")),
    ("D", "35", _l("Electricity, gas, steam and air conditioning supply")),
    ("E", "36", _l("Water collection, treatment and supply")),
    ("E", "37", _l("Sewerage")),
    ("E", "38", _l("Waste collection, treatment and disposal; materials recovery")),
    ("E", "39", _l("Remediation activities and other waste management services")),
    ("F", "41", _l("Construction of buildings")),
    ("F", "42", _l("Civil engineering")),
    ("F", "43", _l("Specialised construction activities")),
    ("G", "45", _l("Wholesale, retail trade and repair of motor vehicles")),
    ("G", "46", _l("Wholesale trade")),
    ("G", "47", _l("Retail trade")),
    ("H", "49", _l("Land transport and transport via pipelines")),
    ("H", "50", _l("Water transport")),
    ("H", "51", _l("Air transport")),
    ("H", "52", _l("Warehousing and support activities for transportation")),
    ("H", "53", _l("Postal and courier activities")),
    ("I", "55", _l("Accommodation")),
    ("I", "56", _l("Food and beverage service activities")),
    ("J", "58", _l("Publishing activities")),
    ("J", "59", _l("Film, video, television, sound recording and music publishing")),
    ("J", "60", _l("Programming and broadcasting activities")),
    ("J", "61", _l("Telecommunications")),
    ("J", "62", _l("Computer programming, consultancy and related activities")),
    ("J", "63", _l("Information service activities")),
    ("K", "64", _l("Financial service activities")),
    ("K", "65", _l("Insurance, reinsurance and pension funding")),
    ("K", "66", _l("Activities auxiliary to financial services and insurance")),
    ("L", "68", _l("Real estate activities")),
    ("M", "69", _l("Legal and accounting activities")),
    ("M", "70", _l("Activities of head offices; management consultancy")),
    ("M", "71", _l("Architectural and engineering activities; technical testing")),
    ("M", "72", _l("Scientific research and development")),
    ("M", "73", _l("Advertising and market research")),
    ("M", "74", _l("Other professional, scientific and technical activities")),
    ("M", "75", _l("Veterinary activities")),
    ("N", "77", _l("Rental and leasing activities")),
    ("N", "78", _l("Employment activities")),
    ("N", "79", _l("Travel agency, tour operator and reservation services")),
    ("N", "80", _l("Security and investigation activities")),
    ("N", "81", _l("Services to buildings and landscape activities")),
    ("N", "82", _l("Office administrative and other business support activities")),
    ("O", "84", _l("Public administration and defence; compulsory social security")),
    ("P", "85", _l("Education")),
    ("Q", "86", _l("Human health activities")),
    ("Q", "87", _l("Residential care activities")),
    ("Q", "88", _l("Social work activities without accommodation")),
    ("R", "90", _l("Creative, arts and entertainment activities")),
    ("R", "91", _l("Libraries, archives, museums and other cultural activities")),
    ("R", "92", _l("Gambling and betting activities")),
    ("R", "93", _l("Sports activities and amusement and recreation activities")),
    ("S", "94", _l("Activities of membership organisations")),
    ("S", "95", _l("Repair of computers and personal and household goods")),
    ("S", "96", _l("Other personal service activities")),
    ("T", "97", _l("Activities of households as employers of domestic personnel")),
    ("T", "98", _l("Undifferentiated goods- and services-producing activities of households")),
    ("U", "99", _l("Activities of extraterritorial organisations and bodies")),
]

DIVISIONS: dict[str, NaceDivision] = {
    code: NaceDivision(code=code, section=section, label=label)
    for section, code, label in _DIVISIONS
}


def division(code: str) -> NaceDivision | None:
    """The division for a two-digit code, if it exists."""
    return DIVISIONS.get(code)


def divisions_in_section(section: str) -> list[str]:
    """The division codes of a lettered section."""
    return [d.code for d in DIVISIONS.values() if d.section == section]


def division_choices() -> list[tuple[str, str]]:
    """Choices for the sector select, labelled "C25 — Manufacture of ..." in the user's language."""
    return [(d.code, d.display) for d in DIVISIONS.values()]


def section_choices() -> list[tuple[str, str]]:
    """Choices for the sector filter: one per section."""
    return [(letter, f"{letter} — {label}") for letter, label in SECTIONS.items()]
