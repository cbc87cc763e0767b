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

# --- partnerships ------------------------------------------------------------------------------
#
# Timeline entries by stage of the partnership workflow (keyed by state name), for the demo's
# stories. `GUARD_ENTRIES` are the contacts an officer logs right before a step whose guard asks
# for one (the first approach, the needs-analysis meeting, the call that revives a partnership).

STATE_ENTRIES: dict[str, tuple[Entry, ...]] = {
    "identified": (
        (_NOTE, "Found via chamber of commerce list", "Listed as a training company; worth a try."),
        (_NOTE, "Recommended by a former learner", "A graduate from last year now works there."),
        (_NOTE, "Met at the regional job fair", "Their stand drew a crowd; took a business card."),
        (_NOTE, "Website checked", "Their careers page mentions apprenticeships."),
    ),
    "researched": (
        (_NOTE, "Company profile prepared", "Summarised what they do and which programmes fit."),
        (_EMAIL, "Introduction e-mail", "Introduced our programmes to {name}; asked for a call."),
        (_NOTE, "Programmes matched", "Our level 3 programme matches their workshop roles."),
    ),
    "approached": (
        (_EMAIL, "Programme outline sent", "Sent the learning outcomes and dates to {name}."),
        (_CALL, "Follow-up call", "{name} read the programme outline; wants to meet."),
        (_EMAIL, "Meeting confirmed", "Confirmed the needs-analysis meeting with {name}."),
        (_NOTE, "Skills needs noted", "Hard to find staff with basic CNC and safety skills."),
    ),
    "needs_analysed": (
        (_VISIT, "Site visit", "Toured the workplace with {name}; safety induction looks solid."),
        (_NOTE, "Capacity update", "Can take {n} learners next school year if dates are agreed."),
        (_CALL, "Call about placement dates", "{name} prefers placements after the holidays."),
        (_EMAIL, "Scope summary sent", "Summarised the agreed scope for {name}: {n} learners."),
    ),
    "agreeing": (
        (_CALL, "Questions about the memorandum", "{name} asked about insurance cover; answered."),
        (_EMAIL, "Reminder: memorandum", "Asked {name} politely whether the memorandum is signed."),
        (_MEETING, "Memorandum meeting", "Discussed the memorandum; {name} signs after review."),
    ),
    "active": (
        (_EMAIL, "Placement request", "Asked {name} whether they can host {n} learners in spring."),
        (_VISIT, "Workplace check before placement", "Checked equipment and supervision."),
        (_CALL, "Call: supervisor availability", "{name} confirmed a supervisor for the term."),
        (_VISIT, "Placement visit", "Met the learner and the supervisor; progress on track."),
        (_CALL, "Check-in call", "Learner doing well; {name} would host again next term."),
        (_NOTE, "Learner feedback", "Learner reports a supportive supervisor and varied tasks."),
        (_VISIT, "End-of-placement visit", "Learner presented their project; {name} satisfied."),
        (_EMAIL, "Evaluation form reminder", "Reminded {name} of the end-of-placement form."),
        (_EMAIL, "Invitation to careers fair", "Invited {name} to present the firm at our fair."),
        (_CALL, "Missed call returned", "{name} had questions about insurance; answered them."),
        (_MEETING, "Online meeting", "Short video call with {name} to plan the next intake."),
        (_EMAIL, "Thank-you e-mail", "Thanked {name} for hosting and summarised next steps."),
    ),
    "under_review": (
        (_EMAIL, "Feedback forms sent", "Sent the yearly feedback forms to {name} and the tutors."),
        (_NOTE, "Feedback summarised", "Supervisors rate the learners well; want earlier dates."),
        (_CALL, "Review meeting planned", "Agreed a date for the yearly review with {name}."),
    ),
    "dormant": (
        (_EMAIL, "No reply yet", "Wrote to {name} again about next term; no answer so far."),
        (_NOTE, "Tried to call", "No answer at the main number; left a message."),
        (_EMAIL, "Newsletter sent", "Sent {name} our newsletter with the new programme dates."),
    ),
}

GUARD_ENTRIES: dict[str, Entry] = {
    "approach": (_CALL, "Intro call about placements", "Spoke with {name}; open to hosting {n}."),
    "analyse_needs": (
        _MEETING,
        "Skills needs meeting",
        "Went through their skills gaps with {name}.",
    ),
    "issue_memorandum": (
        _EMAIL,
        "Memorandum sent for signature",
        "Sent the memorandum of understanding to {name} for signature.",
    ),
    "activate": (_EMAIL, "Signed memorandum received", "{name} returned the signed memorandum."),
    "renew": (
        _MEETING,
        "Annual partnership review",
        "Reviewed the year with {name}: {n} learners.",
    ),
    "revive": (_CALL, "Call: still interested?", "Reached {name}; they want to pick the work up."),
}

NEEDS_SUMMARIES: tuple[str, ...] = (
    "Short of skilled workshop staff; wants to host {n} learners a year and help shape the "
    "welding module.",
    "Growing fast; interested in apprenticeships for {n} trainees and in recruiting graduates.",
    "Needs basic digital and safety skills; can host {n} learners in spring and offer a guest "
    "lecture.",
    "Wants co-designed short courses for their staff and {n} placements per term.",
    "Struggles to recruit young people; would host {n} learners and lend equipment for practice.",
)

REVIEW_NOTES: tuple[str, ...] = (
    "Hosted {n} learners as pledged; supervisors satisfied; wants placements to start earlier.",
    "{n} learners hosted; one hired afterwards. Asks for more practice with customer contact.",
    "Good year: {n} placements, guest lecture given. Supervisor needs a refresher on assessment.",
    "Hosted {n} learners; feedback positive. Wants to co-design the new maintenance module.",
)

RENEW_COMMENTS: tuple[str, ...] = (
    "Same scope; placements move to February.",
    "One more learner per term; new supervisor named.",
    "Adds a guest lecture each term and a shared assessment sheet.",
)

CLOSE_REASONS: dict[str, tuple[str, ...]] = {
    "identified": ("Not a fit: they no longer have a workshop in the region.",),
    "researched": ("Not a fit: too small to supervise learners.",),
    "approached": (
        "No capacity for learners in the next two years; asked us to call back later.",
        "Decided to train only through their group's own academy.",
    ),
    "needs_analysed": ("They could not agree on supervision; the owner declined.",),
    "agreeing": ("Declined to sign: their lawyer objected to the liability clause.",),
    "active": ("The company closed its training department.",),
    "under_review": ("Restructuring: the company stops taking learners after this year.",),
    "dormant": ("No reply after several attempts over months.",),
}

REOPEN_COMMENTS: tuple[str, ...] = (
    "New training manager; they are interested again.",
    "They won a large contract and need apprentices now.",
)
