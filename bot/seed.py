"""Deterministic synthetic sample data: employees, courses and enrolments for demos and tests.

Nothing here is real: names, phones, eHRMS ids and certificates are drawn from
`random.Random(seed)`, and every date is counted from the `today` the caller passes in, so the
same arguments always write the same rows.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlmodel import Session, col, select

from bot.models import Course, Employee, Enrolment, EnrolmentStatus, Person, id_col

NOT_STARTED = EnrolmentStatus.NOT_STARTED
IN_PROGRESS = EnrolmentStatus.IN_PROGRESS
COMPLETED = EnrolmentStatus.COMPLETED


# --- Courses -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CourseSpec:
    """A course in the sample catalogue; `key` is how the tables below refer to it."""

    key: str
    content_id: str
    name: str
    name_hi: str


# fmt: off
COURSES: tuple[CourseSpec, ...] = (
    CourseSpec("karmayogi", "do_1139012345678901", "Mission Karmayogi: An Introduction",
               "मिशन कर्मयोगी: एक परिचय"),
    CourseSpec("cyber", "do_1139023456789012", "Basics of Cyber Security",
               "साइबर सुरक्षा की मूल बातें"),
    CourseSpec("posh", "do_1139034567890123",
               "POSH Act: Prevention of Sexual Harassment at Workplace",
               "कार्यस्थल पर यौन उत्पीड़न की रोकथाम (POSH)"),
    CourseSpec("citizen", "do_1139045678901234", "Citizen-centric Service Delivery",
               "नागरिक-केंद्रित सेवा वितरण"),
    CourseSpec("asha_induction", "do_1139056789012345", "Induction Programme for ASHA Workers",
               "आशा कार्यकर्ताओं के लिए प्रवेश कार्यक्रम"),
    CourseSpec("mch", "do_1139067890123456", "Maternal and Child Health Basics",
               "मातृ एवं शिशु स्वास्थ्य की मूल बातें"),
    CourseSpec("bls", "do_1139078901234567", "Basic Life Support",
               "बुनियादी जीवन रक्षा (बेसिक लाइफ़ सपोर्ट)"),
    CourseSpec("community_policing", "do_1139089012345678", "Community Policing",
               "सामुदायिक पुलिसिंग"),
    CourseSpec("bns", "do_1139090123456789", "Bharatiya Nyaya Sanhita 2023: An Overview",
               "भारतीय न्याय संहिता 2023: एक परिचय"),
    CourseSpec("cyber_crime", "do_1139101234567890", "Cyber Crime Investigation Basics",
               "साइबर अपराध की जाँच की मूल बातें"),
    CourseSpec("fln", "do_1139112345678901", "Foundational Literacy and Numeracy (NIPUN Bharat)",
               "बुनियादी साक्षरता और संख्या ज्ञान (निपुण भारत)"),
    CourseSpec("land_records", "do_1139123456789012", "Land Records Digitisation",
               "भू-अभिलेखों का डिजिटलीकरण"),
    CourseSpec("egram", "do_1139134567890123", "e-Gram Swaraj and Gram Panchayat Planning",
               "ई-ग्राम स्वराज और ग्राम पंचायत विकास योजना"),
    CourseSpec("poshan", "do_1139145678901234", "Poshan Abhiyaan: Nutrition for Mother and Child",
               "पोषण अभियान: माँ और बच्चे का पोषण"),
    CourseSpec("eoffice", "do_1139156789012345", "e-Office Basics",
               "ई-ऑफ़िस की मूल बातें"),
    CourseSpec("rti", "do_1139167890123456", "Right to Information Act 2005",
               "सूचना का अधिकार अधिनियम 2005"),
    CourseSpec("ei", "do_1139178901234567", "Emotional Intelligence",
               "भावनात्मक बुद्धिमत्ता"),
    CourseSpec("yoga", "do_1139189012345678", "Yoga Break at Workplace",
               "कार्यस्थल पर योग ब्रेक"),
)
# fmt: on
COURSE_BY_KEY: dict[str, CourseSpec] = {course.key: course for course in COURSES}

# Courses anyone may take up on their own, beyond what their Capacity Building Plan requires.
OPTIONAL_COURSES: tuple[str, ...] = (
    "karmayogi",
    "cyber",
    "posh",
    "citizen",
    "eoffice",
    "rti",
    "ei",
    "yoga",
)


# --- Places and people ---------------------------------------------------------------------------


@dataclass(frozen=True)
class District:
    """A district and a few of its towns and blocks, where offices are located."""

    name: str
    places: tuple[str, ...]


@dataclass(frozen=True)
class State:
    """A state government whose employees are seeded, with the names common there."""

    name: str
    code: str
    mail_domain: str
    weight: int
    districts: tuple[District, ...]
    female_names: tuple[str, ...]
    male_names: tuple[str, ...]
    surnames: tuple[str, ...]
    # Chances of "hi", "en" and no stated preference, in that order.
    language_weights: tuple[int, int, int]

    @property
    def ministry(self) -> str:
        """The state government, as iGOT's ministry level names it."""
        return f"Government of {self.name}"


LANGUAGES: tuple[str | None, ...] = ("hi", "en", None)

# fmt: off
STATES: tuple[State, ...] = (
    State(
        name="Uttar Pradesh", code="UP", mail_domain="up", weight=45,
        districts=(
            District("Lucknow", ("Hazratganj", "Aliganj", "Gomti Nagar", "Chinhat")),
            District("Varanasi", ("Lanka", "Sarnath", "Chaubepur", "Pindra")),
            District("Prayagraj", ("Civil Lines", "Phulpur", "Handia", "Soraon")),
            District("Gorakhpur", ("Gorakhnath", "Campierganj", "Chauri Chaura", "Sahjanwa")),
        ),
        female_names=("Priyanka", "Sunita", "Pooja", "Neha", "Anita", "Kavita", "Rekha", "Shalini",
                      "Anjali", "Poonam", "Seema", "Geeta", "Mamta", "Kiran", "Laxmi", "Archana"),
        male_names=("Ramesh", "Manoj", "Rajesh", "Anil", "Sanjay", "Amit", "Rahul", "Vivek",
                    "Arvind", "Pankaj", "Suresh", "Deepak", "Ashok", "Vinod", "Shailendra", "Alok"),
        surnames=("Yadav", "Mishra", "Verma", "Singh", "Tiwari", "Pandey", "Shukla", "Srivastava",
                  "Gupta", "Maurya", "Kushwaha", "Chauhan", "Dubey", "Tripathi", "Nishad", "Pal",
                  "Rajbhar", "Prajapati"),
        language_weights=(85, 5, 10),
    ),
    State(
        name="Chhattisgarh", code="CG", mail_domain="cg", weight=30,
        districts=(
            District("Raipur", ("Telibandha", "Abhanpur", "Arang", "Tilda")),
            District("Bilaspur", ("Sarkanda", "Takhatpur", "Kota", "Masturi")),
            District("Durg", ("Bhilai", "Patan", "Dhamdha", "Supela")),
            District("Bastar", ("Jagdalpur", "Bakawand", "Tokapal", "Darbha")),
        ),
        female_names=("Sunita", "Laxmi", "Dhaneshwari", "Hemlata", "Sarita", "Savitri", "Pushpa",
                      "Jyoti", "Rameshwari", "Durga", "Tulsi", "Champa", "Kumari", "Sangeeta"),
        male_names=("Ramesh", "Tikeshwar", "Hemant", "Dilip", "Santosh", "Rakesh", "Bhupendra",
                    "Devendra", "Lakhan", "Omprakash", "Pawan", "Govind", "Tameshwar", "Mukesh"),
        surnames=("Sahu", "Verma", "Nishad", "Sinha", "Dewangan", "Patel", "Netam", "Markam",
                  "Kashyap", "Dhruw", "Sonwani", "Chandrakar", "Thakur", "Banjare", "Yadav"),
        language_weights=(85, 5, 10),
    ),
    State(
        name="Odisha", code="OD", mail_domain="odisha", weight=25,
        districts=(
            District("Cuttack", ("Lalbag", "Athagarh", "Salepur", "Banki")),
            District("Khordha", ("Bhubaneswar", "Jatni", "Balianta", "Balugaon")),
            District("Ganjam", ("Berhampur", "Gopalpur", "Aska", "Chhatrapur")),
            District("Sambalpur", ("Burla", "Rengali", "Kuchinda", "Dhankauda")),
        ),
        female_names=("Subhashree", "Sasmita", "Pratima", "Mamata", "Sujata", "Itishree", "Lipika",
                      "Smruti", "Jyotsna", "Bandana", "Rashmi", "Puspanjali", "Sabita",
                      "Madhusmita"),
        male_names=("Bikash", "Subrat", "Debasis", "Prasanta", "Sanjay", "Manas", "Sitakanta",
                    "Pradeep", "Ranjan", "Sushant", "Ashok", "Jagannath", "Soumya", "Biswajit"),
        surnames=("Panda", "Mohanty", "Das", "Sahoo", "Nayak", "Behera", "Mishra", "Pradhan",
                  "Rout", "Swain", "Jena", "Patnaik", "Mohapatra", "Sethi", "Dash"),
        # Odisha's employees work in Odia: many read replies in English, many never say.
        language_weights=(25, 40, 35),
    ),
)
# fmt: on
STATE_BY_DISTRICT: dict[str, State] = {district.name: state for state in STATES for district in state.districts}


# --- Departments and their Capacity Building Plans -----------------------------------------------


@dataclass(frozen=True)
class Designation:
    """A post in a department: its service group, workplaces and mandatory courses."""

    title: str
    group: str
    weight: int
    female_share: float
    # Templates filled with `district` and one of the district's `place`s.
    workplaces: tuple[str, ...]
    mandatory: tuple[str, ...]


@dataclass(frozen=True)
class Department:
    """A state department; `mandatory` is what its Capacity Building Plan asks of everyone."""

    name: str
    code: str
    mail_name: str
    weight: int
    mandatory: tuple[str, ...]
    designations: tuple[Designation, ...]


# fmt: off
DEPARTMENTS: tuple[Department, ...] = (
    Department(
        "Health and Family Welfare", "HLT", "health", 25, ("karmayogi",), (
            Designation("ASHA", "Contractual", 40, 1.0,
                        ("Primary Health Centre {place}", "Community Health Centre {place}"),
                        ("asha_induction", "mch")),
            Designation("ANM", "Group C", 25, 1.0,
                        ("Sub Health Centre {place}", "Primary Health Centre {place}"),
                        ("mch", "bls")),
            Designation("Staff Nurse", "Group C", 20, 0.85,
                        ("District Hospital {district}", "Community Health Centre {place}"),
                        ("bls",)),
            Designation("Medical Officer", "Group A", 15, 0.35,
                        ("Community Health Centre {place}", "District Hospital {district}"),
                        ("bls", "posh")),
        ),
    ),
    Department(
        "Police", "POL", "police", 20, ("bns",), (
            Designation("Constable", "Group C", 60, 0.2,
                        ("Police Station {place}", "Police Lines {district}"),
                        ("community_policing",)),
            Designation("Head Constable", "Group C", 25, 0.1,
                        ("Police Station {place}",),
                        ("community_policing", "cyber")),
            Designation("Sub-Inspector", "Group B", 15, 0.15,
                        ("Police Station {place}", "Cyber Cell {district}"),
                        ("cyber_crime", "community_policing")),
        ),
    ),
    Department(
        "School Education", "EDU", "education", 25, ("karmayogi",), (
            Designation("Assistant Teacher", "Group C", 70, 0.5,
                        ("Government Primary School {place}",
                         "Government Upper Primary School {place}"),
                        ("fln",)),
            Designation("Headmaster", "Group B", 15, 0.3,
                        ("Government Primary School {place}", "Government High School {place}"),
                        ("fln", "posh")),
            Designation("Clerk", "Group C", 15, 0.3,
                        ("Office of the District Education Officer, {district}",),
                        ("eoffice",)),
        ),
    ),
    Department(
        "Revenue", "REV", "revenue", 10, ("citizen",), (
            Designation("Patwari", "Group C", 60, 0.15,
                        ("Tehsil Office {place}",),
                        ("land_records",)),
            Designation("Clerk", "Group C", 30, 0.3,
                        ("Collectorate {district}", "Tehsil Office {place}"),
                        ("eoffice",)),
            Designation("Tehsildar", "Group B", 10, 0.2,
                        ("Tehsil Office {place}",),
                        ("land_records", "rti")),
        ),
    ),
    Department(
        "Panchayat and Rural Development", "PRD", "panchayat", 10, ("citizen",), (
            Designation("Gram Sachiv", "Group C", 65, 0.2,
                        ("Block Development Office {place}",),
                        ("egram",)),
            Designation("Clerk", "Group C", 25, 0.3,
                        ("Zila Panchayat {district}", "Block Development Office {place}"),
                        ("eoffice",)),
            Designation("Block Development Officer", "Group A", 10, 0.2,
                        ("Block Development Office {place}",),
                        ("egram", "rti")),
        ),
    ),
    Department(
        "Women and Child Development", "WCD", "wcd", 10, ("poshan",), (
            Designation("Anganwadi Worker", "Contractual", 75, 1.0,
                        ("Anganwadi Centre {place}",),
                        ("mch",)),
            Designation("Supervisor", "Group C", 18, 1.0,
                        ("ICDS Project {place}",),
                        ("mch", "posh")),
            Designation("Child Development Project Officer", "Group B", 7, 0.6,
                        ("ICDS Project {place}", "District Programme Office {district}"),
                        ("posh", "rti")),
        ),
    ),
)
# fmt: on
DEPARTMENT_BY_NAME: dict[str, Department] = {dept.name: dept for dept in DEPARTMENTS}


# --- The documented sample users -----------------------------------------------------------------


@dataclass(frozen=True)
class SampleEnrolment:
    """One enrolment of a sample user, with its batch end counted in days from `today`."""

    course: str
    status: EnrolmentStatus
    progress: int
    mandatory: bool
    batch_ends_in_days: int
    certificate: bool = False


@dataclass(frozen=True)
class SampleUser:
    """A fixed employee to try the bot with; `shows` says which situation they demonstrate."""

    phone: str
    name: str
    designation: str
    department: str
    district: str
    organisation: str
    preferred_lang: str | None
    shows: str
    enrolments: tuple[SampleEnrolment, ...] = ()


# Enrolments read: course, status, progress, mandatory, batch end in days from today, certificate.
# fmt: off
SAMPLE_USERS: tuple[SampleUser, ...] = (
    SampleUser(
        phone="+919876500001", name="Sunita Sahu", designation="ASHA",
        department="Health and Family Welfare", district="Raipur",
        organisation="Primary Health Centre Abhanpur", preferred_lang="hi",
        shows="a mandatory course whose batch ends in 5 days, a mandatory course not started, "
              "and a completed course with its certificate",
        enrolments=(
            SampleEnrolment("mch", IN_PROGRESS, 40, True, 5),
            SampleEnrolment("karmayogi", NOT_STARTED, 0, True, 30),
            SampleEnrolment("asha_induction", COMPLETED, 100, True, -20, certificate=True),
        ),
    ),
    SampleUser(
        phone="+919876500002", name="Ramesh Yadav", designation="Constable",
        department="Police", district="Lucknow",
        organisation="Police Station Hazratganj", preferred_lang="hi",
        shows="a course completed at 100% whose certificate has not been generated",
        enrolments=(
            SampleEnrolment("bns", COMPLETED, 100, True, -10),
            SampleEnrolment("community_policing", COMPLETED, 100, True, -40, certificate=True),
            SampleEnrolment("cyber", IN_PROGRESS, 60, False, 25),
        ),
    ),
    SampleUser(
        phone="+919876500003", name="Subhashree Panda", designation="Assistant Teacher",
        department="School Education", district="Cuttack",
        organisation="Government Primary School Salepur", preferred_lang="en",
        shows="everything completed, every certificate issued",
        enrolments=(
            SampleEnrolment("karmayogi", COMPLETED, 100, True, -60, certificate=True),
            SampleEnrolment("fln", COMPLETED, 100, True, -15, certificate=True),
            SampleEnrolment("yoga", COMPLETED, 100, False, 10, certificate=True),
        ),
    ),
    SampleUser(
        phone="+919876500004", name="Laxmi Nishad", designation="ANM",
        department="Health and Family Welfare", district="Bilaspur",
        organisation="Sub Health Centre Takhatpur", preferred_lang="hi",
        shows="a mandatory course still in progress after its batch ended 10 days ago",
        enrolments=(
            SampleEnrolment("mch", IN_PROGRESS, 70, True, -10),
            SampleEnrolment("bls", NOT_STARTED, 0, True, 45),
            SampleEnrolment("karmayogi", COMPLETED, 100, True, -30, certificate=True),
        ),
    ),
    SampleUser(
        phone="+919876500005", name="Manoj Verma", designation="Patwari",
        department="Revenue", district="Varanasi",
        organisation="Tehsil Office Pindra", preferred_lang="hi",
        shows="several courses in progress, none finished yet",
        enrolments=(
            SampleEnrolment("land_records", IN_PROGRESS, 35, True, 40),
            SampleEnrolment("citizen", IN_PROGRESS, 80, True, 20),
            SampleEnrolment("eoffice", IN_PROGRESS, 10, False, 55),
        ),
    ),
    SampleUser(
        phone="+919876500006", name="Bikash Mohanty", designation="Clerk",
        department="Panchayat and Rural Development", district="Ganjam",
        organisation="Block Development Office Aska", preferred_lang=None,
        shows="no enrolments yet and no preferred language, so the bot asks for one",
    ),
)
# fmt: on


# --- Generation ----------------------------------------------------------------------------------

# Share of generated employees behind on their Capacity Building Plan (a mandatory course pending).
BEHIND_SHARE = 0.3
# Share of generated employees with an official email address on record.
EMAIL_SHARE = 0.7
# Share of optional enrolments not finished yet: people take them up at their own pace.
OPTIONAL_PENDING_SHARE = 0.55
# Share of pending enrolments never opened; the rest are part-way through.
NOT_STARTED_SHARE = 0.4
# Share of completions whose certificate iGOT has not generated yet.
MISSING_CERTIFICATE_SHARE = 0.08
# Share of pending enrolments whose batch has already ended.
OVERDUE_SHARE = 0.2
# How many optional courses an employee has picked up, and how likely each count is.
OPTIONAL_COUNTS: tuple[int, ...] = (0, 1, 2, 3)
OPTIONAL_COUNT_WEIGHTS: tuple[int, ...] = (30, 35, 25, 10)

Row = dict[str, Any]
# Bulk inserts skip None values by default, which splits rows into many small INSERTs by which
# columns they fill; writing NULLs keeps every row alike so each table goes in a few batches.
_ALL_COLUMNS = {"render_nulls": True}
T = TypeVar("T")


@dataclass(frozen=True)
class SeedSummary:
    """How many rows a seed wrote; all zero when the database already had employees."""

    employees: int
    courses: int
    enrolments: int


@dataclass
class _Draws:
    """The random source and the values already handed out that must stay unique."""

    rng: random.Random
    today: date
    phones: set[str] = field(default_factory=set)
    external_ids: set[str] = field(default_factory=set)
    certificate_ids: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Person:
    """An employee row, their enrolments (each keyed by course key) and the language they prefer."""

    employee: Row
    enrolments: tuple[tuple[str, Row], ...]
    lang: str | None = None


def seed_database(session: Session, *, employees: int = 3000, seed: int = 2026, today: date) -> SeedSummary:
    """Fill an empty database with sample users and generated employees; leave a used one alone."""
    if employees < len(SAMPLE_USERS):
        raise ValueError(f"employees must be at least {len(SAMPLE_USERS)}, the sample users")
    if session.exec(select(Employee.id).limit(1)).first() is not None:
        return SeedSummary(employees=0, courses=0, enrolments=0)
    draws = _Draws(rng=random.Random(seed), today=today, phones={user.phone for user in SAMPLE_USERS})
    people = [_sample_person(user, draws) for user in SAMPLE_USERS]
    people += [_generated_person(draws) for _ in range(employees - len(SAMPLE_USERS))]
    course_ids, courses_added = _ensure_courses(session)
    enrolments = _insert_people(session, people, course_ids, stamp=_stamp(today))
    return SeedSummary(employees=len(people), courses=courses_added, enrolments=enrolments)


def _stamp(today: date) -> datetime:
    """The created/updated time of every seeded row: midnight UTC of `today`, not the wall clock."""
    return datetime.combine(today, time(), tzinfo=UTC)


def _ensure_courses(session: Session) -> tuple[dict[str, int], int]:
    """Course ids by key, adding the catalogue courses the database lacks; and how many it added."""
    existing = dict(session.exec(select(col(Course.content_id), id_col(Course.id))).all())
    missing = [course for course in COURSES if course.content_id not in existing]
    if missing:
        rows = [{"content_id": c.content_id, "name": c.name, "name_hi": c.name_hi} for c in missing]
        inserted = session.execute(
            insert(Course).returning(col(Course.content_id), id_col(Course.id), sort_by_parameter_order=True),
            rows,
        )
        existing.update(dict(inserted.all()))
    return {course.key: existing[course.content_id] for course in COURSES}, len(missing)


def _insert_people(session: Session, people: list[_Person], course_ids: dict[str, int], *, stamp: datetime) -> int:
    """Bulk-insert the employees, then their enrolments; the number of enrolments written."""
    employee_rows = [{**person.employee, "created_at": stamp, "updated_at": stamp} for person in people]
    employee_ids = (
        session.execute(
            insert(Employee).returning(id_col(Employee.id), sort_by_parameter_order=True),
            employee_rows,
            execution_options=_ALL_COLUMNS,
        )
        .scalars()
        .all()
    )
    enrolment_rows = [
        {
            **enrolment,
            "employee_id": employee_id,
            "course_id": course_ids[course],
            "updated_at": stamp,
        }
        for person, employee_id in zip(people, employee_ids, strict=True)
        for course, enrolment in person.enrolments
    ]
    if enrolment_rows:
        session.execute(insert(Enrolment), enrolment_rows, execution_options=_ALL_COLUMNS)
    # A language is the person's preference (by their phone), not an employee record's.
    preferences = [
        {"phone": person.employee["phone"], "lang": person.lang, "reminders_opted_out": False, "updated_at": stamp}
        for person in people
        if person.lang and person.employee["phone"]
    ]
    if preferences:
        session.execute(insert(Person), preferences)
    return len(enrolment_rows)


def _sample_person(user: SampleUser, draws: _Draws) -> _Person:
    """A documented sample user, exactly as SAMPLE_USERS describes them."""
    state = STATE_BY_DISTRICT[user.district]
    department = DEPARTMENT_BY_NAME[user.department]
    designation = _designation(department, user.designation)
    first, surname = user.name.split(" ", 1)
    employee = {
        "name": user.name,
        "phone": user.phone,
        "email": _email(first, surname, department, state, draws.rng),
        "external_id": _external_id(state, department, draws),
        "ministry": state.ministry,
        "department": department.name,
        "organisation": user.organisation,
        "designation": designation.title,
        "group": designation.group,
        "district": user.district,
    }
    enrolments = tuple(
        (
            planned.course,
            _enrolment(
                draws,
                planned.course,
                status=planned.status,
                progress=planned.progress,
                mandatory=planned.mandatory,
                batch_end=draws.today + timedelta(days=planned.batch_ends_in_days),
                certificate=planned.certificate,
            ),
        )
        for planned in user.enrolments
    )
    return _Person(employee=employee, enrolments=enrolments, lang=user.preferred_lang)


def _generated_person(draws: _Draws) -> _Person:
    """A random employee of a random department, with their mandatory and a few optional courses."""
    rng = draws.rng
    state = _weighted(rng, STATES, [s.weight for s in STATES])
    district = rng.choice(state.districts)
    department = _weighted(rng, DEPARTMENTS, [d.weight for d in DEPARTMENTS])
    designation = _weighted(rng, department.designations, [d.weight for d in department.designations])
    female = rng.random() < designation.female_share
    first = rng.choice(state.female_names if female else state.male_names)
    surname = rng.choice(state.surnames)
    workplace = rng.choice(designation.workplaces)
    employee = {
        "name": f"{first} {surname}",
        "phone": _unique(draws.phones, lambda: f"+91{rng.randint(6, 9)}{rng.randrange(10**9):09d}"),
        "email": _email(first, surname, department, state, rng) if rng.random() < EMAIL_SHARE else None,
        "external_id": _external_id(state, department, draws),
        "ministry": state.ministry,
        "department": department.name,
        "organisation": workplace.format(district=district.name, place=rng.choice(district.places)),
        "designation": designation.title,
        "group": designation.group,
        "district": district.name,
    }
    lang = _weighted(rng, LANGUAGES, state.language_weights)
    return _Person(employee=employee, enrolments=_generated_enrolments(draws, department, designation), lang=lang)


def _generated_enrolments(
    draws: _Draws, department: Department, designation: Designation
) -> tuple[tuple[str, Row], ...]:
    """Mandatory courses (some pending for employees who are behind), optional ones in any state."""
    rng = draws.rng
    mandatory = list(dict.fromkeys(department.mandatory + designation.mandatory))
    pending_count = rng.randint(1, len(mandatory)) if rng.random() < BEHIND_SHARE else 0
    pending = set(rng.sample(mandatory, pending_count))
    optional_pool = [course for course in OPTIONAL_COURSES if course not in mandatory]
    optional = rng.sample(optional_pool, _weighted(rng, OPTIONAL_COUNTS, OPTIONAL_COUNT_WEIGHTS))
    plans = [(course, True, course in pending) for course in mandatory]
    plans += [(course, False, rng.random() < OPTIONAL_PENDING_SHARE) for course in optional]
    return tuple(
        (course, _random_enrolment(draws, course, mandatory=is_mandatory, pending=is_pending))
        for course, is_mandatory, is_pending in plans
    )


def _random_enrolment(draws: _Draws, course: str, *, mandatory: bool, pending: bool) -> Row:
    """An enrolment with a status, progress, batch and certificate drawn to fit together."""
    rng = draws.rng
    if pending:
        status = NOT_STARTED if rng.random() < NOT_STARTED_SHARE else IN_PROGRESS
        progress = 0 if status is NOT_STARTED else rng.randint(1, 99)
        overdue = rng.random() < OVERDUE_SHARE
        batch_end = draws.today + timedelta(days=-rng.randint(1, 30) if overdue else rng.randint(1, 60))
    else:
        status, progress = COMPLETED, 100
        batch_end = draws.today + timedelta(days=rng.randint(-60, 60))
    return _enrolment(
        draws,
        course,
        status=status,
        progress=progress,
        mandatory=mandatory,
        batch_end=batch_end,
        certificate=status is COMPLETED and rng.random() >= MISSING_CERTIFICATE_SHARE,
    )


def _enrolment(
    draws: _Draws,
    course: str,
    *,
    status: EnrolmentStatus,
    progress: int,
    mandatory: bool,
    batch_end: date,
    certificate: bool,
) -> Row:
    """An enrolment row without its ids, enrolled and completed within the batch and by `today`."""
    rng = draws.rng
    last_possible_day = min(draws.today, batch_end)
    enrolled_on = last_possible_day - timedelta(days=rng.randint(7, 120))
    completed_on = None
    if status is COMPLETED:
        completed_on = enrolled_on + timedelta(days=rng.randint(1, (last_possible_day - enrolled_on).days))
    certificate_id = None
    if certificate and completed_on is not None:
        certificate_id = _unique(draws.certificate_ids, lambda: f"CERT-{completed_on.year}-{rng.randrange(10**7):07d}")
    return {
        "status": status.value,
        "progress": progress,
        "mandatory": mandatory,
        # Everyone in a course whose batch ends the same day shares that batch.
        "batch_id": f"{COURSE_BY_KEY[course].content_id}_{batch_end:%Y%m%d}",
        "batch_end_date": batch_end,
        "enrolled_on": enrolled_on,
        "completed_on": completed_on,
        "certificate_generated": certificate_id is not None,
        "certificate_id": certificate_id,
    }


def _designation(department: Department, title: str) -> Designation:
    """The department's designation with this title."""
    return next(d for d in department.designations if d.title == title)


def _email(first: str, surname: str, department: Department, state: State, rng: random.Random) -> str:
    """An official-looking address such as sunita.sahu27@health.cg.gov.in."""
    mailbox = f"{first.lower()}.{surname.lower()}{rng.randint(1, 99)}"
    return f"{mailbox}@{department.mail_name}.{state.mail_domain}.gov.in"


def _external_id(state: State, department: Department, draws: _Draws) -> str:
    """An eHRMS-style employee code such as UP-HLT-004512, unique across the seed."""
    return _unique(
        draws.external_ids,
        lambda: f"{state.code}-{department.code}-{draws.rng.randrange(1, 10**6):06d}",
    )


def _unique(taken: set[str], draw: Callable[[], str]) -> str:
    """The first drawn value not yet taken, now marked as taken."""
    value = draw()
    while value in taken:
        value = draw()
    taken.add(value)
    return value


def _weighted(rng: random.Random, options: tuple[T, ...], weights: Sequence[int]) -> T:
    """One option, chosen with the given relative weights."""
    return rng.choices(options, weights=weights)[0]
