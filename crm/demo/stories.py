"""What officers write: job titles of contacts, timeline entries and notes on employers.

Entry bodies may use `{name}` (the contact's first name) and `{n}` (a number of learners).
"""

from __future__ import annotations

from crm.activities.models import ActivityKind
from crm.contacts.models import ContactRole

JOB_TITLES: dict[ContactRole, tuple[str, ...]] = {
    ContactRole.FOCAL_PERSON: (
        "HR Manager",
        "Training Coordinator",
        "Apprenticeship Officer",
        "HR Business Partner",
        "Office Manager",
    ),
    ContactRole.DECISION_MAKER: (
        "Managing Director",
        "Owner",
        "Operations Director",
        "Co-owner",
        "General Manager",
    ),
    ContactRole.WORKPLACE_SUPERVISOR: (),  # taken from the sector
    ContactRole.OTHER: ("Assistant to the Director", "Accountant", "Receptionist", "Team Leader"),
}

# Timeline entries by stage of the relationship: first approach, getting to know each
# other, then hosting learners. Each is (kind, subject, body).
Entry = tuple[ActivityKind, str, str]
_NOTE, _CALL, _EMAIL = ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.EMAIL
_MEETING, _VISIT = ActivityKind.MEETING, ActivityKind.VISIT

STAGES: tuple[tuple[Entry, ...], ...] = (
    (
        (_NOTE, "Found via chamber of commerce list", "Listed as a training company; worth a try."),
        (_NOTE, "Recommended by a former learner", "A graduate from last year now works there."),
        (_EMAIL, "Introduction e-mail", "Introduced our programmes to {name}; asked for a call."),
        (_CALL, "Intro call about placements", "Spoke with {name}; open to hosting {n} learners."),
        (
            _EMAIL,
            "Programme outline sent",
            "Sent the learning outcomes and dates to {name}.",
        ),
        (_CALL, "Follow-up call", "{name} read the programme outline; wants to meet."),
    ),
    (
        (_MEETING, "Skills needs meeting", "Went through their skills gaps with {name}."),
        (_NOTE, "Skills needs noted", "Hard to find staff with basic CNC and safety skills."),
        (_VISIT, "Site visit", "Toured the workplace with {name}; safety induction looks solid."),
        (_EMAIL, "Memorandum draft", "Sent the draft memorandum of understanding to {name}."),
        (_MEETING, "Memorandum meeting", "Discussed the memorandum; {name} signs after review."),
        (_NOTE, "Capacity update", "Can take {n} learners next school year if dates are agreed."),
        (_CALL, "Call about placement dates", "{name} prefers placements after the holidays."),
    ),
    (
        (_EMAIL, "Placement request", "Asked {name} whether they can host {n} learners in spring."),
        (_VISIT, "Workplace check before placement", "Checked equipment and supervision."),
        (_CALL, "Call: supervisor availability", "{name} confirmed a supervisor for the term."),
        (_VISIT, "Placement visit", "Met the learner and the supervisor; progress on track."),
        (_CALL, "Check-in call", "Learner doing well; {name} would host again next term."),
        (_NOTE, "Learner feedback", "Learner reports a supportive supervisor and varied tasks."),
        (_VISIT, "End-of-placement visit", "Learner presented their project; {name} satisfied."),
        (_EMAIL, "Evaluation form reminder", "Reminded {name} of the end-of-placement form."),
        (_MEETING, "Annual partnership review", "Reviewed the year with {name}: {n} learners."),
        (
            _EMAIL,
            "Invitation to careers fair",
            "Invited {name} to present the firm at our fair.",
        ),
        (_CALL, "Missed call returned", "{name} had questions about insurance; answered them."),
        (_MEETING, "Online meeting", "Short video call with {name} to plan the next intake."),
        (_EMAIL, "Thank-you e-mail", "Thanked {name} for hosting and summarised next steps."),
    ),
)

ORGANISATION_NOTES: tuple[str, ...] = (
    "Prefers to be contacted by phone in the morning.",
    "Hosts learners mainly in spring; summer is their busy season.",
    "Family business; the owner decides on every placement.",
    "Asked us to send learners with a basic safety certificate.",
    "Part of the regional training network.",
    "Can offer accommodation support for learners from abroad.",
)
