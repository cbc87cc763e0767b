"""The programmes both data sets offer, their programme years, and what placements ask of hosts.

Learning outcomes are worded as a VET teacher writes them for the employer who rates them at
the end of a placement; role descriptions and learning objectives are what an officer agrees
with the workplace supervisor before the employer is asked to confirm.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# A programme year runs from September to July (July's last day included).
YEAR_STARTS = (9, 1)
YEAR_ENDS = (7, 31)


@dataclass(frozen=True)
class ProgrammePlan:
    """A programme to create, and the texts its placements use."""

    code: str
    name: str
    eqf_level: int
    sector: str  # NACE section letter of the employers it matches
    description: str
    outcomes: tuple[str, ...]
    roles: tuple[str, ...]
    objectives: tuple[str, ...]
    hours_per_day: int = 7


@dataclass(frozen=True)
class ProgrammeYear:
    """A programme year: the period a cohort's placements must lie in."""

    name: str
    starts_on: dt.date
    ends_on: dt.date


def programme_year(start_year: int) -> ProgrammeYear:
    """The programme year starting in September of `start_year`, e.g. 2026/27."""
    return ProgrammeYear(
        f"{start_year}/{(start_year + 1) % 100:02d}",
        dt.date(start_year, *YEAR_STARTS),
        dt.date(start_year + 1, *YEAR_ENDS),
    )


def year_started_by(day: dt.date) -> int:
    """The start year of the latest programme year that began on or before `day`."""
    return day.year if (day.month, day.day) >= YEAR_STARTS else day.year - 1


PROGRAMMES: tuple[ProgrammePlan, ...] = (
    ProgrammePlan(
        "MECH-4",
        "Mechatronics Technician",
        4,
        "C",
        "Three-year programme for maintenance and automation roles in manufacturing.",
        (
            "Reads technical drawings and circuit diagrams and plans the work steps from them.",
            "Sets up and runs CNC machines for simple turned and milled parts.",
            "Assembles pneumatic, hydraulic and electrical components into working units.",
            "Finds faults in mechatronic systems step by step and records the repair.",
            "Writes and tests simple PLC programs for a production cell.",
            "Carries out preventive maintenance to the manufacturer's schedule.",
            "Works safely: lock-out/tag-out, machine guarding, PPE and lifting.",
        ),
        (
            "Assistant to the maintenance team on the production line: inspections, small "
            "repairs and changeovers under the supervisor's guidance.",
            "Works in the assembly workshop building and testing pneumatic units.",
        ),
        (
            "Carry out three planned maintenance jobs from the work order to the report.",
            "Trace and fix at least one electrical fault with the supervisor.",
            "Write a short PLC routine for a conveyor and test it on the training rig.",
        ),
        hours_per_day=8,
    ),
    ProgrammePlan(
        "ELEC-4",
        "Electrical Installation Technician",
        4,
        "F",
        "Installation of power, lighting and building services in homes and small businesses.",
        (
            "Installs cable routes, sockets and lighting circuits to the wiring regulations.",
            "Mounts and connects distribution boards with the right protective devices.",
            "Tests and inspects an installation and fills in the test certificate.",
            "Reads installation plans and works out the materials needed.",
            "Works safely on site: isolation, ladders and scaffolding, dust and noise.",
            "Explains the finished work to the customer in plain words.",
        ),
        (
            "Member of a two-person installation team on residential building sites.",
            "Supports the service technician on maintenance and inspection visits.",
        ),
        (
            "Install a complete lighting circuit from the plan, checked by the supervisor.",
            "Take part in three inspections and complete the test records.",
            "Keep a daily site log of the tasks done and the safety measures taken.",
        ),
        hours_per_day=8,
    ),
    ProgrammePlan(
        "AUTO-4",
        "Motor Vehicle Technician",
        4,
        "G",
        "Service, diagnosis and repair of cars and light commercial vehicles.",
        (
            "Carries out routine services to the manufacturer's schedule.",
            "Uses diagnostic equipment to read fault codes and interpret live data.",
            "Removes, inspects and refits brake, steering and suspension components.",
            "Works safely on hybrid and electric vehicles up to the isolation of the system.",
            "Writes a clear job card: the fault, the work done and the parts used.",
            "Talks to customers about the work needed and its cost.",
        ),
        (
            "Trainee technician in the service workshop: inspections, services and tyres.",
            "Works with the diagnostic technician on electrical and engine faults.",
        ),
        (
            "Complete ten services independently, checked by the supervisor.",
            "Diagnose two electrical faults using the workshop's diagnostic tester.",
            "Hand over a repaired vehicle to a customer and explain the work.",
        ),
        hours_per_day=8,
    ),
    ProgrammePlan(
        "COOK-3",
        "Professional Cookery",
        3,
        "I",
        "Kitchen skills for restaurants, hotels and catering.",
        (
            "Prepares, cooks and presents hot and cold dishes to the standard recipe.",
            "Keeps to food safety and HACCP rules: temperatures, labelling, allergens.",
            "Organises the workstation before service and keeps it clean during service.",
            "Works out quantities and orders for a set number of portions.",
            "Works as part of a kitchen brigade and follows the chef's instructions.",
            "Reduces waste by storing, rotating and reusing ingredients correctly.",
        ),
        (
            "Commis chef on the cold section, then on the hot line during lunch service.",
            "Kitchen assistant in the catering kitchen: preparation for events of 50 to 200.",
        ),
        (
            "Prepare the starters of the lunch menu on their own for one week.",
            "Keep the HACCP records of the section for the whole placement.",
            "Plan and cook a staff meal for the team, within a set budget.",
        ),
        hours_per_day=7,
    ),
    ProgrammePlan(
        "ITSP-5",
        "IT Systems and Network Support",
        5,
        "J",
        "Higher VET programme for IT support, networks and system administration.",
        (
            "Installs and configures workstations, printers and mobile devices for users.",
            "Sets up and documents small networks: switches, VLANs, Wi-Fi and firewall rules.",
            "Manages user accounts and permissions in a directory service.",
            "Solves support tickets and records the solution in the knowledge base.",
            "Automates routine tasks with simple scripts.",
            "Applies backup, update and basic security practices.",
            "Explains technical issues to non-technical users.",
            "Plans and reports their own work in a small team using tickets.",
        ),
        (
            "Junior member of the service desk: first-line tickets, onboarding of new staff.",
            "Assists the network administrator with a branch office roll-out.",
        ),
        (
            "Resolve at least 40 first-line tickets and document five in the knowledge base.",
            "Script one recurring task (e.g. account creation) and present it to the team.",
            "Help plan and carry out one change in the network, with rollback plan.",
        ),
        hours_per_day=8,
    ),
    ProgrammePlan(
        "CARE-4",
        "Health Care Assistant",
        4,
        "Q",
        "Care and support of patients and residents in clinics, care homes and at home.",
        (
            "Helps patients with personal care while respecting their dignity and privacy.",
            "Measures and records vital signs and reports changes to the nurse.",
            "Follows hygiene and infection-control procedures.",
            "Supports patients with eating, drinking and moving, using aids correctly.",
            "Communicates with patients, relatives and colleagues with empathy.",
            "Keeps accurate care records and hands over clearly at the end of a shift.",
        ),
        (
            "Care assistant on the ward, working shifts alongside a registered nurse.",
            "Assistant in the outpatient clinic: reception of patients and measurements.",
        ),
        (
            "Take part in the morning care of two residents, supervised, by the second week.",
            "Measure and record vital signs on every shift and report them at handover.",
            "Write a reflective log of one situation that went well and one that did not.",
        ),
        hours_per_day=8,
    ),
    ProgrammePlan(
        "WELD-3",
        "Metal Fabrication and Welding",
        3,
        "C",
        "Cutting, forming and welding steel and aluminium in fabrication shops.",
        (
            "Cuts and forms sheet and sections to the drawing's measurements.",
            "Welds fillet and butt joints in steel with MAG and MMA.",
            "Checks welds visually and measures them against the tolerances.",
            "Sets up and looks after welding equipment safely.",
            "Protects themselves and others from fumes, sparks and noise.",
        ),
        ("Assistant fabricator in the workshop: preparation, tacking and finishing.",),
        (
            "Weld test pieces in two positions to the workshop's standard.",
            "Prepare the parts of one small assembly from the drawing.",
        ),
        hours_per_day=8,
    ),
    ProgrammePlan(
        "FOOD-3",
        "Food Production",
        3,
        "C",
        "Bakery, dairy and food processing on the production floor.",
        (
            "Weighs and mixes ingredients to the recipe and the batch size.",
            "Operates production machines and checks the product during the run.",
            "Follows hygiene, allergen and traceability rules.",
            "Cleans and sanitises equipment to the cleaning schedule.",
            "Records production and quality data on the batch sheet.",
        ),
        ("Production assistant on the early shift of the bakery line.",),
        (
            "Run the dough preparation of one product with the shift leader.",
            "Fill in the batch and cleaning records for the whole placement.",
        ),
        hours_per_day=8,
    ),
    ProgrammePlan(
        "RETL-3",
        "Retail and Sales",
        3,
        "G",
        "Sales, customer service and stock in shops and branches.",
        (
            "Serves customers, finds out what they need and advises them.",
            "Handles payments, refunds and the till at the end of the day.",
            "Receives goods, checks deliveries and fills the shelves.",
            "Presents goods attractively and keeps the shop floor tidy.",
            "Deals politely with complaints and knows when to call the manager.",
        ),
        ("Sales assistant on the shop floor and at the till.",),
        (
            "Serve customers on their own at the till by the end of the first week.",
            "Take part in one stock take and one window display.",
        ),
        hours_per_day=7,
    ),
    ProgrammePlan(
        "HOTL-4",
        "Hotel and Hospitality Operations",
        4,
        "I",
        "Front office, housekeeping and food service in hotels.",
        (
            "Checks guests in and out and handles reservations in the hotel system.",
            "Answers guests' questions and requests in English and one other language.",
            "Prepares rooms to the housekeeping standard.",
            "Serves food and drinks in the restaurant and at events.",
            "Handles complaints calmly and passes them on where needed.",
            "Works out simple prices, invoices and daily reports.",
        ),
        ("Trainee on the front desk, with weeks in housekeeping and the restaurant.",),
        (
            "Handle check-in and check-out on their own on the early shift.",
            "Work two weeks in housekeeping and one week in food service.",
        ),
        hours_per_day=8,
    ),
    ProgrammePlan(
        "DRAW-5",
        "Technical Drawing and Building Information Modelling",
        5,
        "M",
        "Drawing and modelling buildings and installations for engineering offices.",
        (
            "Draws plans, sections and details to the drawing standards.",
            "Builds and updates building information models from sketches and surveys.",
            "Checks drawings for clashes and missing information.",
            "Keeps drawing registers and revisions in order.",
            "Works with engineers and architects on deadlines and changes.",
        ),
        ("Junior draughtsperson in the engineering team.",),
        (
            "Model one floor of a project in the office's BIM software.",
            "Prepare a set of detail drawings for a review with the engineer.",
        ),
        hours_per_day=8,
    ),
    ProgrammePlan(
        "HAIR-3",
        "Hairdressing and Beauty",
        3,
        "S",
        "Salon skills: cutting, colouring, treatments and customer care.",
        (
            "Consults clients and agrees the service and the price.",
            "Shampoos, conditions and blow-dries hair to the salon's standard.",
            "Cuts and colours hair under supervision.",
            "Keeps tools clean and follows hygiene and chemical-safety rules.",
            "Books appointments and sells aftercare products.",
        ),
        ("Salon junior: reception, basins and assisting the stylists.",),
        (
            "Carry out ten shampoo and blow-dry services on clients.",
            "Assist with colour services and record the formulas used.",
        ),
        hours_per_day=7,
    ),
)

# The demo's programmes: one per sector of the demo employers that host learners.
DEMO_PROGRAMME_CODES = ("MECH-4", "ELEC-4", "AUTO-4", "COOK-3", "ITSP-5", "CARE-4")
PROGRAMMES_BY_CODE = {p.code: p for p in PROGRAMMES}

# How employers tend to rate each programme's skills, in points above or below the learner's
# overall satisfaction (by the outcome's position; others: 0). Both data sets use them, so the
# skills gap shows what a provider would bring to curriculum co-design: documentation,
# programming and planning lag behind the practical skills.
SKILL_TENDENCIES: dict[str, dict[int, float]] = {
    "MECH-4": {4: -1.0, 3: -0.4, 6: 0.4},
    "ELEC-4": {2: -0.8, 3: -0.3, 4: 0.3},
    "AUTO-4": {4: -0.9, 1: -0.4, 0: 0.3},
    "COOK-3": {3: -0.8, 5: -0.3, 1: 0.3},
    "ITSP-5": {4: -1.0, 1: -0.5, 6: -0.3, 0: 0.4},
    "CARE-4": {5: -0.8, 1: -0.2, 4: 0.4},
    "WELD-3": {2: -0.6, 4: 0.3},
    "FOOD-3": {4: -0.8, 2: 0.2},
    "RETL-3": {1: -0.6, 4: -0.3, 2: 0.3},
    "HOTL-4": {5: -0.9, 1: -0.4},
    "DRAW-5": {1: -0.7, 2: -0.4, 0: 0.3},
    "HAIR-3": {2: -0.7, 4: -0.4, 3: 0.3},
}
# How satisfied employers are with each programme's learners, above or below the average.
PROGRAMME_MOODS: dict[str, float] = {
    "MECH-4": 0.1,
    "ELEC-4": 0.0,
    "AUTO-4": -0.1,
    "COOK-3": -0.3,
    "ITSP-5": 0.2,
    "CARE-4": 0.3,
    "WELD-3": 0.0,
    "FOOD-3": -0.2,
    "RETL-3": -0.1,
    "HOTL-4": -0.2,
    "DRAW-5": 0.2,
    "HAIR-3": 0.1,
}
# Learners with support needs, as a share of each programme's learners (scale data set).
SUPPORT_NEEDS_SHARES: dict[str, float] = {
    "MECH-4": 0.05,
    "ELEC-4": 0.05,
    "AUTO-4": 0.07,
    "COOK-3": 0.08,
    "ITSP-5": 0.06,
    "CARE-4": 0.10,
    "WELD-3": 0.06,
    "FOOD-3": 0.08,
    "RETL-3": 0.09,
    "HOTL-4": 0.07,
    "DRAW-5": 0.04,
    "HAIR-3": 0.09,
}


def skill_tendency(code: str, position: int) -> float:
    """How employers tend to rate the programme's skill at `position` (see SKILL_TENDENCIES)."""
    return SKILL_TENDENCIES.get(code, {}).get(position, 0.0)
