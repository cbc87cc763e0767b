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

# --- placements -------------------------------------------------------------------------------
#
# What officers and employers write on a placement's steps: the reasons a step asks for, and
# the support needs a few learners have (special-category data, shown to few).

# Why employers decline, with the reason they pick from the link page's list
# (crm.placements.confirmation.DeclineReason) when they answer through the link.
DECLINES: tuple[tuple[str, str], ...] = (
    (
        "no_supervisor",
        "Our supervisor is on leave for most of those weeks; we cannot guarantee supervision.",
    ),
    ("no_capacity", "We already host two learners in that period and have no workstation free."),
    ("dates", "The dates clash with our annual shutdown for maintenance."),
    ("no_capacity", "We are short-staffed this season and cannot take on a learner."),
    ("role", "The tasks we have in that period do not fit the learning objectives."),
)
DECLINE_REASONS: tuple[str, ...] = tuple(text for _, text in DECLINES)
DECLINE_REASON_KINDS: dict[str, str] = {text: kind for kind, text in DECLINES}

# What an employer writes when proposing other dates ({later}: "two weeks", ...).
PROPOSAL_NOTES: tuple[str, ...] = (
    "Our busy season runs until then; {later} later the supervisor has time for a learner.",
    "The workshop is being refitted; we can start {later} later than asked.",
    "The supervisor is away on a training course first. Same length, {later} later?",
    "We would gladly host, but only after our stocktaking, about {later} later.",
)
WEEKS_LATER: dict[int, str] = {1: "a week", 2: "two weeks", 3: "three weeks", 4: "four weeks"}

POSTPONE_REASONS: tuple[str, ...] = (
    "Learner ill for several weeks; new dates after the medical check, probably next term.",
    "The employer moves to new premises; agreed to restart after the move, about two months.",
    "The learner has to resit an exam first; new dates after the resit in six weeks.",
    "The supervisor changed jobs; waiting for the employer to name a new one this month.",
)

CANCEL_REASONS: tuple[str, ...] = (
    "The learner left the programme.",
    "The learner found a paid apprenticeship with another employer.",
    "The employer withdrew: a change of ownership and a hiring freeze.",
    "Duplicate request: the learner's placement was already arranged.",
)

CANCEL_DURING_REASONS: tuple[str, ...] = (
    "Ended early at the learner's request after a talk with the supervisor and the tutor.",
    "The learner moved away with their family; the hours so far are recognised.",
    "The company went into administration; we are looking for a new host.",
)

SHORTFALL_REASONS: tuple[str, ...] = (
    "Learner ill for a week (medical certificate on file); the target was agreed as met.",
    "The workshop closed for two days after a power cut; the hours could not be made up.",
    "Public holidays in the period were not taken into account in the target.",
)

SUPPORT_NEEDS: tuple[str, ...] = (
    "Dyslexia: give instructions orally as well as in writing; allow extra time for reports.",
    "Type 1 diabetes: needs short breaks to check blood sugar and to eat; the supervisor "
    "should know the signs of a hypo.",
    "Hearing impairment in the left ear: face the learner when speaking; noisy areas need "
    "written instructions.",
    "Anxiety in new settings: a short visit to the workplace before the first day helps; "
    "name one contact person.",
    "ADHD: clear daily task lists and a quiet place for written work.",
    "Uses a wheelchair: step-free access and an accessible toilet are needed at the workplace.",
)

# --- evaluations ------------------------------------------------------------------------------
#
# What supervisors and learners write when they answer an evaluation or feedback link; `{name}`
# is the learner's first name.

EMPLOYER_COMMENTS: dict[str, tuple[str, ...]] = {
    "high": (
        "{name} was punctual, curious and quickly trusted with tasks of their own.",
        "A real help to the team. {name} asked good questions and took feedback well.",
        "{name} worked carefully and safely; the customers liked them.",
        "Very good placement. We would like to keep in touch with {name} for a summer job.",
        "Reliable and motivated. {name} finished the small project we gave them on their own.",
    ),
    "mid": (
        "{name} did what was asked but needed reminding about documentation.",
        "A good start; {name} should speak up more when something is unclear.",
        "Technically fine. Punctuality was a problem in the first week, better afterwards.",
        "{name} did well with routine tasks; planning their own work is still hard.",
    ),
    "low": (
        "{name} missed several days without telling us; we had to call the school twice.",
        "The placement came at a busy time for us and {name} needed more support than we had.",
        "{name} was not ready for work with customers yet; more practice at school first.",
    ),
}

# Why an employer would not host again (their capacity pledge is now none).
EMPLOYER_NO_ROOM: tuple[str, ...] = (
    "We cannot take another learner next year: the team is moving to a new site.",
    "No room for learners for now; we will tell the school when that changes.",
    "Our supervisor retires this year and nobody else can take it on yet.",
)

LEARNER_WENT_WELL: tuple[str, ...] = (
    "My supervisor explained everything and let me try things myself.",
    "The team was friendly and I learned a lot about how the work is planned.",
    "I could use what we learned at school, and I got real tasks.",
    "I worked with customers for the first time and it went better than I thought.",
    "Good mix of tasks; I learned to use new tools.",
)

LEARNER_COULD_BE_BETTER: tuple[str, ...] = (
    "The first days I often did not know what to do.",
    "More time with my supervisor; they were very busy.",
    "Long travel to the workplace; an earlier start time would help.",
    "I would have liked more varied tasks.",
    "",
    "",
)

# --- agreements and officers' own follow-ups ---------------------------------------------------

# Why a party declined to sign a placement agreement or a memorandum (their own words).
AGREEMENT_DECLINE_REASONS: tuple[str, ...] = (
    "The working hours in the agreement are not the ones we agreed on the phone.",
    "Our legal department wants the insurance clause reworded before we sign.",
    "The start date is wrong: the learner can only start a week later.",
    "My daughter's name is misspelt; please correct it and send it again.",
)
MEMORANDUM_DECLINE_REASONS: tuple[str, ...] = (
    "Our board has to approve agreements of this length; please make it one year.",
    "We cannot commit to a number of places in writing this year.",
    "The data-protection clause needs our DPO's wording before we sign.",
)

# What officers write on follow-ups they make themselves: `{learner}` is the learner's first
# name, `{supervisor}` the workplace supervisor's name.
VISIT_SUBJECTS: tuple[str, ...] = (
    "Visit {learner} at the workplace",
    "Mid-placement visit: {learner} and {supervisor}",
    "Call {supervisor} about how {learner} is getting on",
)
INDUCTION_SUBJECTS: tuple[str, ...] = (
    "Check the induction day with {supervisor}",
    "Send {learner} the travel details and the first day's plan",
)
EVALUATION_CHASES: tuple[str, ...] = (
    "Chase {supervisor} for the evaluation of {learner}'s placement",
    "Call {supervisor}: the evaluation of {learner}'s placement is still missing",
)
