"""The people and rows of Mira Network AB (Sweden): a CRM for commercial and higher education.

Planted mess: study counsellors and deans who are contacts in Mira's own CRM *and* users of a
client's Mira platform, under the same address typed differently; people in several clients'
records; colleagues registered at their school's address and families sharing a home; newsletters
sent after a contact said "no e-mail" (the preferences and the mailings live side by side);
mail to addresses no person in the CRM has; meeting notes by employees who left; contacts nobody
has spoken to in years; hired candidates who are now employees; payslips past the seven years of
the Bookkeeping Act; clients whose contract ended but whose records are still there.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from datavow.demo.bulk import Row
from datavow.demo.fake import (
    MAIL_DOMAINS,
    Address,
    Mailboxes,
    Pools,
    Population,
    as_dialled,
    as_typed,
    ascii_slug,
    below,
    domain_for,
    ipv4,
    password_hash,
    phone_plan,
    pick,
)
from datavow.demo.generate import CompanyRows, Context, TableData
from datavow.demo.mira_network import tables as t

_PERSON_CATEGORIES = (
    ("Decision maker", "Rector, dean, head of department or managing director"),
    ("Study counsellor", "Advises students on programmes and admissions"),
    ("Marketing and communication", "Runs recruitment marketing and student communication"),
    ("Admissions officer", None),
    ("Alumni relations", None),
    ("IT contact", "Runs the institution's systems"),
    ("Press", "Journalists and editors"),
    ("Partner contact", "Contact person at a partner company"),
)
_COLLABORATION = ("Client", "Partner", "Prospect", "Supplier", "Network member", "Former client")
_RELATIONSHIP = {1: "client", 2: "partner", 3: "prospect", 4: "supplier", 5: "network", 6: "former client"}
_EDUCATION = (
    "MSc Business Administration, Stockholm School of Economics",
    "BA Media and Communication, Lund University",
    "PhD Education, Uppsala University",
    "MSc Computer Science, KTH",
    "BSc Marketing, Jönköping University",
    "Teacher education, Umeå University",
    "MA Pedagogy, University of Gothenburg",
)
_SOURCES = ("event", "web form", "import 2017", "LinkedIn", "referral", "Mira Summit 2019", "business card")
_MEETINGS = (
    ("Demo of the Events module", "Interested in replacing their spreadsheet of open days. {name} decides."),
    ("Contract renewal", "Wants a three-year deal; budget decision in the autumn."),
    ("Lunch at the EAIE conference", "Talked about alumni relations. Has two children, sails in the summer."),
    ("Onboarding workshop", "Imported 12 000 contacts; duplicates to clean up with {name}."),
    ("Follow-up", "Back from sick leave, asked us to call again in May."),
)
_CAMPAIGNS = (
    "Newsletter January",
    "Newsletter May",
    "Mira Summit invitation",
    "Webinar: GDPR in admissions",
    "Christmas greeting",
    None,
    None,
    None,
)
_ROLES = ("administrator", "editor", "editor", "reader", "reader", "marketing")
_MODULES = ("Contacts", "Events", "Mailings", "Surveys", "Alumni", "Statistics")
_ACTIONS = ("login", "search", "export", "send mailing", "edit contact", "create event", "view report")
_AGENCIES = ("Academic Work", "Poolia", "Randstad", "Adecco", "Incluso", None)
_POSITIONS = ("Developer", "Consultant", "Customer success manager", "Sales representative", "Support engineer")
_TITLES = ("Consultant", "Developer", "Account manager", "Support", "CFO", "Project manager", "Designer")
_STAFF_DOMAIN = "mira.se"


@dataclass(frozen=True)
class _Organisation:
    id: int
    name: str
    kind: str
    domain: str
    address: Address
    category: int  # collaboration category id


@dataclass(frozen=True)
class _Employee:
    id: int
    person: int
    hired: date
    left: date | None
    salary: int  # monthly, in öre


class _World:
    def __init__(self, ctx: Context) -> None:
        self.ctx, self.clock = ctx, ctx.clock
        swedish = Pools.draw("sv_SE", ctx.seed)
        self.population = Population(
            (
                (swedish, 0.8),
                (Pools.draw("no_NO", ctx.seed), 0.08),
                (Pools.draw("fi_FI", ctx.seed), 0.06),
                (Pools.draw("da_DK", ctx.seed), 0.06),
            ),
            phone_plan("+46 ", ("70 ### ## ##", "73 ### ## ##", "76 ### ## ##", "8 ### ### ##", "31 ## ## ##")),
        )
        self.pools = swedish
        self.mail = Mailboxes()
        self.n_persons, self.n_users, self.n_records = ctx.count(1500, 20), ctx.count(400, 5), ctx.count(3000, 20)
        self.n_employees, self.n_candidates = ctx.count(45, 8), ctx.count(120, 5)
        size = self.n_persons + self.n_users + self.n_records + self.n_employees + self.n_candidates
        self.crowd = self.population.crowd(ctx.rng("people"), size, self.clock.today, sharing=0.3)
        self.email: dict[int, str] = {}
        self.organisations = self._organisations()
        self.person_org = self._persons_at()
        self._person_emails()
        self.employees = self._employees()
        self.clients = self._clients()
        self.user_rows, self.user_people = self._users()
        self.record_people: set[int] = set()
        self.candidate_people: set[int] = set()

    # -- crm

    def _organisations(self) -> list[_Organisation]:
        rng = self.ctx.rng("organisations")
        found: list[_Organisation] = []
        for oid in range(1, self.ctx.count(220, 10) + 1):
            where = self.population.address(rng)
            city = where.city
            kind = pick(
                rng,
                (
                    "university",
                    "university college",
                    "folk high school",
                    "vocational school",
                    "company",
                    "company",
                    "authority",
                ),
            )
            name = {
                "university": f"{city} universitet",
                "university college": f"Högskolan i {city}",
                "folk high school": f"{city} folkhögskola",
                "vocational school": f"Yrkeshögskolan {city}",
                "authority": f"Kommunen {city}",
            }.get(kind) or pick(rng, self.pools.companies)
            category = 1 if oid % 5 == 1 else pick(rng, (2, 3, 3, 4, 5, 6))
            found.append(_Organisation(oid, name, kind, domain_for(name, "se"), where, category))
        return found

    def _persons_at(self) -> list[_Organisation]:
        rng = self.ctx.rng("persons", "organisation")
        return [pick(rng, self.organisations) for _ in range(self.n_persons)]

    def _person_emails(self) -> None:
        rng = self.ctx.rng("persons", "email")
        for p, org in enumerate(self.person_org):
            if rng.random() < 0.8:
                self.email[p] = self.mail.work(self.crowd, p, org.domain, rng)
            else:
                self.email[p] = self.mail.private(self.crowd, p, MAIL_DOMAINS["SE"], rng)

    def person_rows(self) -> Iterator[Row]:
        rng = self.ctx.rng("persons")
        crowd, clock = self.crowd, self.clock
        for p in range(self.n_persons):
            org = self.person_org[p]
            # Colleagues are registered at their school's address; others at home.
            where = org.address if rng.random() < 0.5 else crowd.addresses[crowd.home[p]]
            created = clock.ago(rng, 12 * 365, 30)
            updated = clock.later(rng, created)
            contacted = None if rng.random() < 0.1 else clock.later(rng, created)
            yield (
                p + 1,
                crowd.first[p],
                crowd.last[p],
                crowd.birth[p] if rng.random() < 0.6 else None,
                self.email[p],
                as_dialled(crowd.phone[p], rng) if rng.random() < 0.5 else None,
                crowd.phone[p] if rng.random() < 0.7 else None,
                where.street,
                where.postal_code,
                where.city,
                where.country,
                pick(rng, _EDUCATION) if rng.random() < 0.5 else None,
                _RELATIONSHIP[org.category],
                pick(rng, _SOURCES),
                rng.random() < 0.01,
                created,
                updated,
                contacted,
            )

    @staticmethod
    def _membership_count(p: int) -> int:
        return 1 + (p % 4 == 0)

    def memberships(self) -> Iterator[Row]:
        rng = self.ctx.rng("person_category_members")
        for p in range(self.n_persons):
            for category in rng.sample(range(1, len(_PERSON_CATEGORIES) + 1), self._membership_count(p)):
                yield (p + 1, category, self.clock.day_ago(rng, 10 * 365))

    @staticmethod
    def _affiliation_count(p: int) -> int:
        return 1 + (p % 3 == 0) + (p % 7 == 0)

    def affiliations(self) -> Iterator[Row]:
        rng = self.ctx.rng("affiliations")
        for p in range(self.n_persons):
            primary = self.person_org[p]
            orgs = [primary.id]
            while len(orgs) < self._affiliation_count(p):
                other = rng.randrange(1, len(self.organisations) + 1)
                if other not in orgs:
                    orgs.append(other)
            for n, org in enumerate(orgs):
                started = self.clock.day_ago(rng, 20 * 365, 60) if rng.random() < 0.8 else None
                ended = self.clock.day_ago(rng, 5 * 365) if n and rng.random() < 0.5 else None
                yield (
                    p + 1,
                    org,
                    pick(
                        rng,
                        (
                            "Study counsellor",
                            "Dean",
                            "Head of marketing",
                            "Lecturer",
                            "Admissions officer",
                            "CEO",
                            None,
                        ),
                    ),
                    pick(rng, ("Student services", "Marketing", "IT", "Faculty of Arts", None)),
                    started,
                    ended if ended and started and ended > started else None,
                    n == 0,
                )

    def meeting_notes(self) -> Iterator[Row]:
        rng = self.ctx.rng("meeting_notes")
        for note in range(1, self.ctx.count(1500) + 1):
            p = below(rng, self.n_persons)
            employee = pick(rng, self.employees)
            subject, text = pick(rng, _MEETINGS)
            yield (
                note,
                p + 1,
                self.person_org[p].id if rng.random() < 0.8 else None,
                employee.id if rng.random() < 0.95 else None,
                self.clock.day_ago(rng, 10 * 365),
                subject,
                text.format(name=self.crowd.name(below(rng, self.n_persons))),
            )

    def correspondence(self) -> Iterator[Row]:
        rng = self.ctx.rng("correspondence")
        for mail in range(1, self.ctx.count(6000) + 1):
            p: int | None = below(rng, self.n_persons)
            campaign = pick(rng, _CAMPAIGNS)
            address = as_typed(self.email[below(rng, self.n_persons) if p is None else p], rng)
            if rng.random() < 0.08:  # an address nobody in the CRM has (any more)
                p, address = None, self.mail.private(self.crowd, below(rng, len(self.crowd)), MAIL_DOMAINS["SE"], rng)
            inbound = campaign is None and rng.random() < 0.5
            subject = campaign or pick(rng, ("Re: offer", "Meeting next week", "Invoice question", "Thank you!"))
            yield (
                mail,
                p + 1 if p is not None else None,
                address,
                "in" if inbound else "out",
                "email",
                subject,
                "Hej! " + pick(rng, ("Tack för senast.", "Se bifogad offert.", "Välkommen till vårt webbinar.")),
                self.clock.ago(rng, 8 * 365),
                campaign,
            )

    @staticmethod
    def _preferences_of(p: int) -> tuple[tuple[str, bool], ...]:
        """Known preferences: ``all`` off (no communication at all), e-mail off, or phone off."""
        return {0: (("all", False),), 5: (("email", False),), 3: (("email", True), ("phone", False))}.get(p % 10, ())

    def preferences(self) -> Iterator[Row]:
        rng = self.ctx.rng("communication_preferences")
        for p in range(self.n_persons):
            for channel, allowed in self._preferences_of(p):
                yield (
                    p + 1,
                    channel,
                    allowed,
                    self.clock.ago(rng, 6 * 365),
                    pick(rng, ("unsubscribe link", "phone call", "e-mail reply", "web form")),
                )

    # -- platform

    def _clients(self) -> list[tuple[int, _Organisation, date, date | None]]:
        rng = self.ctx.rng("clients")
        schools = [o for o in self.organisations if o.kind not in ("company", "authority")] or self.organisations
        found = []
        for cid in range(1, self.ctx.count(40, 3) + 1):
            org = schools[(cid - 1) % len(schools)]
            start = self.clock.day_ago(rng, 12 * 365, 100)
            # Some clients left years ago; their records are still here (the contract said "delete").
            end = self.clock.day_ago(rng, (self.clock.today - start).days, 30) if cid % 7 == 3 else None
            found.append((cid, org, start, end))
        return found

    def client_rows(self) -> Iterator[Row]:
        rng = self.ctx.rng("clients", "rows")
        for cid, org, start, end in self.clients:
            modules = ",".join(sorted(rng.sample(_MODULES, rng.randrange(2, len(_MODULES)))))
            yield (cid, org.name, org.id if cid % 10 else None, modules, start, end)

    def _users(self) -> tuple[list[Row], set[int]]:
        rng = self.ctx.rng("users")
        at_org: dict[int, list[int]] = {}
        for p, org in enumerate(self.person_org):
            at_org.setdefault(org.id, []).append(p)
        rows: list[Row] = []
        people: set[int] = set()
        spare = iter(range(self.n_persons, self.n_persons + self.n_users))
        for uid in range(1, self.n_users + 1):
            cid, org, start, _ = pick(rng, self.clients)
            known = at_org.get(org.id, [])
            if known and rng.random() < 0.3:  # a CRM contact who also works in the client's Mira
                p = pick(rng, known)
                email = as_typed(self.email[p], rng)
            else:
                p = next(spare)
                email = self.mail.work(self.crowd, p, org.domain, rng)
            people.add(p)
            created = self.clock.later(rng, datetime.combine(start, datetime.min.time()))
            rows.append(
                (
                    uid,
                    cid,
                    email,
                    self.crowd.first[p],
                    self.crowd.last[p],
                    pick(rng, _ROLES),
                    password_hash(rng),
                    created,
                    self.clock.later(rng, created),
                )
            )
        return rows, people

    def record_rows(self) -> Iterator[Row]:
        rng = self.ctx.rng("records")
        crowd = self.crowd
        base = self.n_persons + self.n_users
        for rid in range(1, self.n_records + 1):
            cid, org, start, end = pick(rng, self.clients)
            p = base + rid - 1
            if rng.random() < 0.05:  # someone who is also in Mira's own CRM
                p = below(rng, self.n_persons)
                email: str | None = as_typed(self.email[p], rng)
            elif rng.random() < 0.85:
                email = (
                    f"{ascii_slug(crowd.first[p])}.{ascii_slug(crowd.last[p], '')}{rng.randrange(1, 99)}"
                    f"@{pick(rng, MAIL_DOMAINS['SE'])}"
                )
            else:
                email = None
            self.record_people.add(p)
            home = crowd.addresses[crowd.home[p]]
            created = self.clock.later(rng, datetime.combine(start, datetime.min.time()))
            yield (
                rid,
                cid,
                pick(rng, ("Student", "Applicant", "Alumni", "Teacher", "Partner contact")),
                pick(rng, ("Partner", "Prospect", None)),
                crowd.first[p],
                crowd.last[p],
                email,
                crowd.phone[p] if rng.random() < 0.7 else None,
                crowd.birth[p],
                home.street,
                home.postal_code,
                home.city,
                created,
                self.clock.later(rng, created),
            )

    def usage_logs(self) -> Iterator[Row]:
        rng = self.ctx.rng("usage_logs")
        office = {cid: ipv4(self.ctx.rng("office", str(cid))) for cid, *_ in self.clients}
        for log in range(1, self.ctx.count(15000) + 1):
            user = self.user_rows[below(rng, len(self.user_rows))]
            cid = int(user[1])
            yield (
                log,
                cid,
                user[0],
                self.clock.ago(rng, 3 * 365),
                pick(rng, _MODULES),
                pick(rng, _ACTIONS),
                office[cid] if rng.random() < 0.7 else ipv4(rng),
            )

    # -- hr

    def _employees(self) -> list[_Employee]:
        rng = self.ctx.rng("employees")
        base = self.n_persons + self.n_users + self.n_records
        found = []
        for eid in range(1, self.n_employees + 1):
            adult = (self.clock.today - self.crowd.birth[base + eid - 1]).days - 20 * 365
            hired = self.clock.day_ago(rng, min(25 * 365, max(adult, 31)), 30)
            left = self.clock.day_ago(rng, (self.clock.today - hired).days) if rng.random() < 0.4 else None
            found.append(_Employee(eid, base + eid - 1, hired, left, 100 * rng.randrange(32000, 78000, 500)))
            self.email[base + eid - 1] = self.mail.private(self.crowd, base + eid - 1, MAIL_DOMAINS["SE"], rng)
        return found

    def employee_rows(self) -> Iterator[Row]:
        rng = self.ctx.rng("employees", "rows")
        crowd = self.crowd
        for e in self.employees:
            p = e.person
            home = crowd.addresses[crowd.home[p]]
            yield (
                e.id,
                _personal_number(crowd.birth[p], rng),
                crowd.first[p],
                crowd.last[p],
                self.mail.work(crowd, p, _STAFF_DOMAIN, rng),
                self.email[p],
                crowd.phone[p],
                home.street,
                home.postal_code,
                home.city,
                f"{rng.randrange(6000, 9999)}-{rng.randrange(10**8, 10**9)}",
                pick(rng, _TITLES),
                e.hired,
                e.left,
            )

    def _months(self, e: _Employee) -> list[date]:
        last = e.left or self.clock.today
        month = date(e.hired.year, e.hired.month, 25)
        found = []
        while month <= last:
            found.append(month)
            month = date(month.year + month.month // 12, month.month % 12 + 1, 25)
        return found

    def payslips(self) -> Iterator[Row]:
        for e in self.employees:
            for paid in self._months(e):
                tax = e.salary * 31 // 100
                yield (e.id, f"{paid.year}-{paid.month:02d}", e.salary, tax, e.salary - tax, paid)

    def candidate_rows(self) -> Iterator[Row]:
        rng = self.ctx.rng("candidates")
        crowd = self.crowd
        base = self.n_persons + self.n_users + self.n_records + self.n_employees
        for cid in range(1, self.n_candidates + 1):
            p, status = base + cid - 1, pick(rng, ("rejected", "rejected", "withdrawn", "interviewing", "hired"))
            applied = self.clock.day_ago(rng, 6 * 365)
            if status == "hired":  # now an employee: same person, same private address
                p = pick(rng, self.employees).person
            elif rng.random() < 0.1:  # someone from the network
                p = below(rng, self.n_persons)
            else:
                self.email[p] = self.mail.private(crowd, p, MAIL_DOMAINS["SE"], rng)
            self.candidate_people.add(p)
            decided = None if status == "interviewing" else applied + timedelta(days=rng.randrange(10, 80))
            slug = ascii_slug(crowd.name(p), "-")
            yield (
                cid,
                crowd.first[p],
                crowd.last[p],
                as_typed(self.email[p], rng),
                crowd.phone[p],
                pick(rng, _AGENCIES),
                pick(rng, _POSITIONS),
                f"cv/{applied.year}/{slug}.pdf",
                applied,
                status,
                decided,
                pick(rng, ("Strong in SQL.", "References checked.", "Salary expectation too high.", None)),
            )

    # -- the tables, in the order they are written

    def tables(self) -> list[TableData]:
        ctx = self.ctx
        n = self.n_persons
        return [
            TableData(
                "crm",
                t.person_categories,
                len(_PERSON_CATEGORIES),
                lambda: ((i, name, text) for i, (name, text) in enumerate(_PERSON_CATEGORIES, start=1)),
            ),
            TableData(
                "crm", t.collaboration_categories, len(_COLLABORATION), lambda: enumerate(_COLLABORATION, start=1)
            ),
            TableData("crm", t.organisations, len(self.organisations), self.organisation_rows),
            TableData("crm", t.persons, n, self.person_rows),
            TableData("crm", t.person_category_members, sum(map(self._membership_count, range(n))), self.memberships),
            TableData("crm", t.affiliations, sum(map(self._affiliation_count, range(n))), self.affiliations),
            TableData("crm", t.meeting_notes, ctx.count(1500), self.meeting_notes),
            TableData("crm", t.correspondence, ctx.count(6000), self.correspondence),
            TableData(
                "crm",
                t.communication_preferences,
                sum(len(self._preferences_of(p)) for p in range(n)),
                self.preferences,
            ),
            TableData("hr", t.employees, len(self.employees), self.employee_rows),
            TableData("hr", t.payslips, sum(len(self._months(e)) for e in self.employees), self.payslips),
            TableData("hr", t.candidates, self.n_candidates, self.candidate_rows),
            TableData("platform", t.clients, len(self.clients), self.client_rows),
            TableData("platform", t.users, len(self.user_rows), lambda: self.user_rows),
            TableData("platform", t.records, self.n_records, self.record_rows),
            TableData("platform", t.usage_logs, ctx.count(15000), self.usage_logs),
        ]

    def people(self) -> dict[str, int]:
        return {
            "contact": self.n_persons,
            "service_user": len(self.user_people),
            "client_data_subject": len(self.record_people),
            "employee": len(self.employees),
            "candidate": len(self.candidate_people),
        }

    def distinct_people(self) -> int:
        employees = {e.person for e in self.employees}
        everyone = set(range(self.n_persons)) | self.user_people | self.record_people | employees
        return len(everyone | self.candidate_people)

    def organisation_rows(self) -> Iterator[Row]:
        rng = self.ctx.rng("organisations", "rows")
        for o in self.organisations:
            prefix = "202100" if o.kind != "company" else f"{pick(rng, (556, 559))}{rng.randrange(100, 1000)}"
            yield (
                o.id,
                o.name,
                o.kind,
                f"{prefix}-{rng.randrange(1000, 10000)}",
                o.address.street,
                o.address.postal_code,
                o.address.city,
                o.address.country,
                f"https://www.{o.domain}",
                o.category,
                self.clock.ago(rng, 15 * 365, 365),
            )


def _personal_number(birth: date, rng: random.Random) -> str:
    """A Swedish personnummer (YYYYMMDD-NNNC) with a valid Luhn check digit."""
    digits = f"{birth:%y%m%d}{below(rng, 1000):03d}"
    total = sum(int(d) * (2 - i % 2) // 10 + int(d) * (2 - i % 2) % 10 for i, d in enumerate(digits))
    return f"{birth:%Y%m%d}-{digits[6:]}{(10 - total % 10) % 10}"


def rows(ctx: Context) -> CompanyRows:
    return _World(ctx)
