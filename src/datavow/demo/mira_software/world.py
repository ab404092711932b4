"""The people and rows of MIRA Software (IZIT bv, Belgium): a multi-tenant material-management platform.

``platform`` is run as processor for the customers (each row of ``customers`` is a tenant and a
controller); ``business`` is IZIT's own: its website's contact form, customers, prospects,
suppliers and invoices. Planted mess: platform users who are also business contacts, ticket
requesters and contact-form writers under the same address typed differently; consultants with an
account in two tenants; colleagues behind one office IP; failed logins for addresses no user has;
tickets nobody picked up; log rows, tickets, tenants and invoices past their retention.
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
    below,
    domain_for,
    ipv4,
    password_hash,
    phone_plan,
    pick,
    user_agent,
)
from datavow.demo.generate import CompanyRows, Context, TableData
from datavow.demo.mira_software.tables import (
    companies,
    contact_submissions,
    contacts,
    customers,
    invoice_lines,
    invoices,
    login_events,
    material_usage,
    materials,
    supplier_contacts,
    suppliers,
    support_tickets,
    user_sessions,
    users,
)

_ROLES = ("admin", "warehouse manager", "technician", "technician", "technician", "buyer", "site manager", "viewer")
_PLANS = {"starter": 4900, "professional": 12900, "enterprise": 34900}  # per quarter, in cents
_MATERIALS = (
    ("Cable tie 200 mm", "pcs", "fasteners"),
    ("Screw 4x40 zinc", "box", "fasteners"),
    ("Safety gloves size 9", "pair", "PPE"),
    ("Earplugs", "pair", "PPE"),
    ("Hard hat", "pcs", "PPE"),
    ("Silicone sealant", "tube", "chemicals"),
    ("Drill bit 6 mm", "pcs", "tools"),
    ("Paint roller", "pcs", "tools"),
    ("PVC pipe 32 mm", "m", "plumbing"),
    ("Copper wire 2.5 mm²", "m", "electrical"),
    ("Duct tape", "roll", "consumables"),
)
_SITES = ("Warehouse Zele", "Depot Gent", "Site Antwerpen-Noord", "Van 2", "Main store", "Workshop", "Site Leuven")
_TICKETS = (
    ("Cannot log in after password reset", "Since this morning I get 'invalid credentials'. Please check my account."),
    ("Stock count differs after import", "After importing our CSV the stock of several items is wrong."),
    ("Export to Excel is empty", "The monthly usage export only contains the header row."),
    ("New user cannot see warehouse", "My colleague {name} ({email}) cannot see the Zele warehouse."),
    ("Please remove former employee", "{name} left the company, please delete the account {email}."),
    ("Scanner app crashes", "The scanner app closes when I scan a barcode. Call me back on {phone}."),
)
_NOTES = (
    "Picked up by {name}",
    "For {name}, call {phone} on delivery",
    "Returned, damaged",
    "Urgent repair",
    "Replacement under warranty",
    "Used at the home of {name}",
)
_QUESTIONS = (
    "Can we get a demo?",
    "What does the professional plan cost for 20 users?",
    "Please call me back.",
    "Do you integrate with our ERP?",
    "We want to stop our subscription, who do I contact?",
)
_JOBS = (
    "Purchasing manager",
    "CFO",
    "Managing director",
    "Operations manager",
    "Accountant",
    "IT manager",
    "Warehouse manager",
    "Office manager",
    None,
)


@dataclass(frozen=True)
class _Customer:
    id: int
    name: str
    domain: str
    vat: str
    plan: str
    start: date
    end: date | None
    office_ip: str

    def until(self, now: datetime) -> datetime:
        """The last moment the tenant used the platform."""
        return min(now, datetime.combine(self.end, datetime.min.time())) if self.end else now


@dataclass(frozen=True)
class _Organisation:
    """A company in IZIT's business database: a customer, a former customer or a prospect."""

    id: int
    name: str
    domain: str
    vat: str
    address: Address
    customer: _Customer | None


class _World:
    """Everyone and everything in MIRA's two databases; large tables are generated lazily."""

    def __init__(self, ctx: Context) -> None:
        self.ctx, self.clock = ctx, ctx.clock
        belgian = Pools.draw("nl_BE", ctx.seed)
        walloon = Pools.draw("fr_BE", ctx.seed, address_locale="nl_BE")
        self.population = Population(
            ((belgian, 0.6), (walloon, 0.4)),
            phone_plan("+32 ", ("4## ## ## ##", "4## ## ## ##", "9 ### ## ##", "2 ### ## ##")),
        )
        self.pools = belgian
        self.mail = Mailboxes()
        n_users, n_others = ctx.count(900, 20), ctx.count(950, 20)
        self.crowd = self.population.crowd(ctx.rng("people"), n_users + n_others, self.clock.today)
        self.spare = iter(range(n_users, n_users + n_others))  # people who are not platform users
        self.email: dict[int, str] = {}
        self.customers = self._customers()
        self.user_rows: list[Row] = []
        self.user_person: list[int] = []  # user id - 1 -> person
        self.user_customer: list[_Customer] = []
        self.tenant_users: dict[int, list[int]] = {}  # customer id -> user ids
        self._users(n_users)
        self.organisation_of: dict[int, int] = {}  # customer id -> organisation id
        self.organisations = self._organisations()
        self.contact_rows: list[Row] = []
        self.contact_person: list[int] = []
        self.supplier_people: set[int] = set()
        self.visitors: set[int] = set()
        self.billing_contact: dict[int, tuple[int, int]] = {}  # organisation id -> (contact id, person)
        self._contacts()
        self.supplier_rows: list[Row] = []
        self.supplier_contact_rows: list[Row] = []
        self._suppliers()
        self.submission_rows = self._submissions()
        self.invoice_rows = self._invoices()

    # -- platform

    def _customers(self) -> list[_Customer]:
        rng, today = self.ctx.rng("customers"), self.clock.today
        found = [
            _Customer(
                1, "IZIT bv", "izit.be", "BE0876820414", "enterprise", today - timedelta(days=4000), None, ipv4(rng)
            )
        ]
        for cid in range(2, self.ctx.count(60, minimum=8) + 2):
            name = pick(rng, self.pools.companies)
            state = cid % 8
            end: date | None = None
            if state in (0, 1):  # left long ago: its platform data is overdue for deletion
                end = today - timedelta(days=rng.randrange(100, 1500))
            elif state == 2:  # left recently: still inside the 90 days
                end = today - timedelta(days=rng.randrange(5, 80))
            elif state == 3:  # gave notice
                end = today + timedelta(days=rng.randrange(10, 200))
            start = (end or today) - timedelta(days=rng.randrange(200, 3300))
            plan = pick(rng, ("starter", "professional", "professional", "enterprise"))
            found.append(_Customer(cid, name, domain_for(name, "be"), _vat(rng), plan, start, end, ipv4(rng)))
        return found

    def _users(self, n_users: int) -> None:
        rng = self.ctx.rng("users")
        tenants = self.customers[1:]
        weights = [rng.paretovariate(1.2) for _ in tenants]
        for person in range(n_users):
            # IZIT's own support staff are the first users, in tenant 1.
            customer = self.customers[0] if person < 8 else rng.choices(tenants, weights)[0]
            self.email[person] = self.mail.work(self.crowd, person, customer.domain, rng)
            self._add_user(rng, person, customer)
        for person in rng.sample(range(8, n_users), max(1, n_users // 50)):
            # A consultant working for two customers: one person, one address, two tenants.
            current = self.user_customer[self.user_person.index(person)]
            self._add_user(rng, person, pick(rng, [c for c in tenants if c is not current]))

    def _add_user(self, rng: random.Random, person: int, customer: _Customer) -> None:
        uid = len(self.user_rows) + 1
        first = customer.id not in self.tenant_users
        role = "support agent" if customer.id == 1 else ("admin" if first else pick(rng, _ROLES))
        created = datetime.combine(customer.start, datetime.min.time()) + timedelta(days=below(rng, 400))
        created = min(created, self.clock.now - timedelta(days=1))
        until = customer.until(self.clock.now)
        last_login = None if rng.random() < 0.05 else self.clock.later(rng, created, (until - created).days + 1)
        active = (customer.end is None or customer.end > self.clock.today) and rng.random() > 0.04
        self.user_rows.append(
            (
                uid,
                customer.id,
                self.email[person],
                self.crowd.first[person],
                self.crowd.last[person],
                role,
                password_hash(rng),
                active,
                False,
                created,
                last_login,
            )
        )
        self.user_person.append(person)
        self.user_customer.append(customer)
        self.tenant_users.setdefault(customer.id, []).append(uid)

    def _user(self, rng: random.Random, tenants_only: bool = False) -> int:
        low = len(self.tenant_users[1]) + 1 if tenants_only else 1
        return low + below(rng, len(self.user_rows) + 1 - low)

    def sessions(self) -> Iterator[Row]:
        rng = self.ctx.rng("user_sessions")
        for _ in range(self.ctx.count(1200)):
            uid = self._user(rng)
            customer = self.user_customer[uid - 1]
            created = customer.until(self.clock.now) - timedelta(seconds=below(rng, 200 * 86400))
            yield (
                f"{rng.getrandbits(128):032x}",
                uid,
                created,
                created + timedelta(days=30),
                customer.office_ip if rng.random() < 0.7 else ipv4(rng),
                user_agent(rng),
            )

    def logins(self) -> Iterator[Row]:
        rng = self.ctx.rng("login_events")
        for event in range(1, self.ctx.count(20000) + 1):
            uid = self._user(rng)
            customer = self.user_customer[uid - 1]
            at = customer.until(self.clock.now) - timedelta(seconds=below(rng, 540 * 86400))
            ip = customer.office_ip if rng.random() < 0.7 else ipv4(rng)
            roll = rng.random()
            if roll < 0.03:  # an address no user has: a typo, a guess, an attack
                stranger = below(rng, len(self.crowd))
                typed = self.mail.private(self.crowd, stranger, MAIL_DOMAINS["BE"], rng)
                yield (event, None, None, typed, at, False, ip, user_agent(rng))
            else:
                typed = as_typed(self.email[self.user_person[uid - 1]], rng)
                yield (event, customer.id, uid, typed, at, roll > 0.09, ip, user_agent(rng))

    def materials(self) -> Iterator[Row]:
        rng = self.ctx.rng("materials")
        for customer in self.customers[1:]:
            for number in range(1, self.materials_per_tenant + 1):
                yield (customer.id, number, *pick(rng, _MATERIALS))

    # A catalogue per tenant: more tenants at a larger scale, not larger catalogues.
    materials_per_tenant = 25

    def usage(self) -> Iterator[Row]:
        rng = self.ctx.rng("material_usage")
        for row in range(1, self.ctx.count(15000) + 1):
            uid = self._user(rng, tenants_only=True)
            customer = self.user_customer[uid - 1]
            used = customer.until(self.clock.now) - timedelta(seconds=below(rng, 1000 * 86400))
            note = None
            if rng.random() < 0.08:  # free text naming someone: personal data where nobody looks
                other = below(rng, len(self.crowd))
                note = pick(rng, _NOTES).format(name=self.crowd.name(other), phone=self.crowd.phone[other])
            yield (
                row,
                customer.id,
                1 + below(rng, self.materials_per_tenant),
                uid,
                1 + below(rng, 39),
                used,
                pick(rng, _SITES),
                note,
            )

    def tickets(self) -> Iterator[Row]:
        rng = self.ctx.rng("support_tickets")
        staff = self.tenant_users[1]
        for ticket in range(1, self.ctx.count(1200) + 1):
            user = self._user(rng, tenants_only=True)
            customer, person = self.user_customer[user - 1], self.user_person[user - 1]
            requester: int | None = user
            email = as_typed(self.email[person], rng)
            if rng.random() < 0.2:  # mailed in by someone without an account
                requester = None
                organisation = self.organisation_of.get(customer.id)
                if organisation in self.billing_contact and rng.random() < 0.7:
                    person = self.billing_contact[organisation][1]
                    email = as_typed(self.email[person], rng)
                else:
                    email = f"{pick(rng, ('info', 'office', 'admin', 'magazijn'))}@{customer.domain}"
            opened = customer.until(self.clock.now) - timedelta(seconds=rng.randrange(3600, 4 * 365 * 86400))
            done = opened < self.clock.now - timedelta(days=14) and rng.random() < 0.92
            closed = self.clock.later(rng, opened, 40, 0.01) if done else None
            subject, body = pick(rng, _TICKETS)
            other = pick(rng, self.tenant_users[customer.id])
            body = body.format(
                name=self.crowd.name(self.user_person[other - 1]),
                phone=self.crowd.phone[person],
                email=self.email[self.user_person[other - 1]],
            )
            assignee = pick(rng, staff) if closed or rng.random() < 0.5 else None
            status = "closed" if closed else pick(rng, ("open", "waiting"))
            yield (
                ticket,
                customer.id,
                requester,
                self.crowd.name(person) if rng.random() < 0.9 else None,
                email,
                assignee,
                subject,
                body,
                status,
                pick(rng, ("low", "normal", "normal", "high")),
                opened,
                closed,
            )

    # -- business

    def _organisations(self) -> list[_Organisation]:
        rng = self.ctx.rng("companies")
        found = [
            _Organisation(i, c.name, c.domain, c.vat, self.population.address(rng), c)
            for i, c in enumerate(self.customers[1:], start=1)
        ]
        for _ in range(self.ctx.count(60, minimum=3)):
            name = pick(rng, self.pools.companies)
            found.append(
                _Organisation(
                    len(found) + 1, name, domain_for(name, "be"), _vat(rng), self.population.address(rng), None
                )
            )
        self.organisation_of.update({o.customer.id: o.id for o in found if o.customer})
        return found

    def companies(self) -> Iterator[Row]:
        rng = self.ctx.rng("companies", "rows")
        for org in self.organisations:
            customer = org.customer
            if customer is None:
                status, since = "prospect", self.clock.ago(rng, 6 * 365)
            else:
                ended = customer.end is not None and customer.end <= self.clock.today
                status = "former customer" if ended else "customer"
                since = datetime.combine(customer.start, datetime.min.time()) - timedelta(days=rng.randrange(5, 90))
            yield (
                org.id,
                org.name,
                org.vat,
                status,
                customer.id if customer else None,
                org.address.street,
                org.address.postal_code,
                org.address.city,
                "BE",
                since,
            )

    def _contacts(self) -> None:
        rng = self.ctx.rng("contacts")
        for org in self.organisations:
            people: list[int] = []
            if org.customer is not None and org.customer.id in self.tenant_users:
                # The tenant's first admin is IZIT's contact there too: one person, two systems.
                people.append(self.user_person[self.tenant_users[org.customer.id][0] - 1])
            people += [p for p in (next(self.spare, None) for _ in range(rng.randrange(1, 4))) if p is not None]
            for person in people:
                if person not in self.email:
                    self.email[person] = self.mail.work(self.crowd, person, org.domain, rng)
                cid = len(self.contact_rows) + 1
                self.billing_contact.setdefault(org.id, (cid, person))
                self.contact_person.append(person)
                created = self.clock.ago(rng, 8 * 365, 30)
                last = self.clock.later(rng, created) if rng.random() < 0.8 else None
                phone = as_dialled(self.crowd.phone[person], rng) if rng.random() < 0.85 else None
                self.contact_rows.append(
                    (
                        cid,
                        org.id,
                        self.crowd.first[person],
                        self.crowd.last[person],
                        as_typed(self.email[person], rng),
                        phone,
                        pick(rng, _JOBS),
                        created,
                        last,
                    )
                )

    def _submissions(self) -> list[Row]:
        rng = self.ctx.rng("contact_submissions")
        rows: list[Row] = []
        for sid in range(1, self.ctx.count(500, 5) + 1):
            roll = rng.random()
            contact_id: int | None = None
            company: str | None = None
            if roll < 0.25:  # an existing contact; sales matched most of them
                contact = below(rng, len(self.contact_rows))
                person = self.contact_person[contact]
                contact_id = contact + 1 if rng.random() < 0.7 else None
                company = self.organisations[int(self.contact_rows[contact][1]) - 1].name
            elif roll < 0.35:  # a platform user who is not a contact: nothing to match it to
                person = self.user_person[self._user(rng, tenants_only=True) - 1]
            else:  # a visitor writing from home
                person = next(self.spare, None) or below(rng, len(self.crowd))
                self.visitors.add(person)
                self.email.setdefault(person, self.mail.private(self.crowd, person, MAIL_DOMAINS["BE"], rng))
            phone = self.crowd.phone[person] if rng.random() < 0.4 else None
            rows.append(
                (
                    sid,
                    self.clock.ago(rng, 3 * 365),
                    self.crowd.name(person),
                    as_typed(self.email[person], rng),
                    phone,
                    company,
                    pick(rng, _QUESTIONS),
                    ipv4(rng),
                    user_agent(rng),
                    contact_id,
                )
            )
        return rows

    def _suppliers(self) -> None:
        rng = self.ctx.rng("suppliers")
        for sid in range(1, self.ctx.count(30, 2) + 1):
            name = pick(rng, self.pools.companies)
            domain = domain_for(name, "be")
            where = self.population.address(rng)
            iban = "BE" + "".join(str(below(rng, 10)) for _ in range(14))
            self.supplier_rows.append(
                (sid, name, _vat(rng), iban, f"facturatie@{domain}", where.street, where.postal_code, where.city, "BE")
            )
            for _ in range(rng.randrange(1, 4)):
                person = next(self.spare, None)
                if person is None:
                    break
                self.supplier_people.add(person)
                self.email[person] = self.mail.work(self.crowd, person, domain, rng)
                self.supplier_contact_rows.append(
                    (
                        len(self.supplier_contact_rows) + 1,
                        sid,
                        self.crowd.name(person),
                        self.email[person],
                        as_dialled(self.crowd.phone[person], rng),
                        pick(rng, ("sales", "accounting", "delivery", None)),
                    )
                )

    def _invoices(self) -> list[Row]:
        """Quarterly invoices for every customer over its whole subscription, numbered per year."""
        rng = self.ctx.rng("invoices")
        due: list[tuple[date, _Organisation]] = []
        for org in self.organisations:
            if org.customer is None:
                continue
            issued = org.customer.start
            while issued <= min(org.customer.end or self.clock.today, self.clock.today):
                due.append((issued, org))
                issued += timedelta(days=91)
        due.sort(key=lambda item: (item[0], item[1].id))
        rows: list[Row] = []
        per_year: dict[int, int] = {}
        for invoice_id, (issued, org) in enumerate(due, start=1):
            per_year[issued.year] = per_year.get(issued.year, 0) + 1
            assert org.customer is not None
            amount = _PLANS[org.customer.plan] + 1500 * self._extra_users(invoice_id)
            contact = self.billing_contact.get(org.id) if rng.random() < 0.9 else None
            if contact is None:
                name, email = org.name, f"boekhouding@{org.domain}"
            else:
                name, email = self.crowd.name(contact[1]), as_typed(self.email[contact[1]], rng)
            paid = issued + timedelta(days=rng.randrange(3, 50))
            rows.append(
                (
                    invoice_id,
                    f"MIRA-{issued.year}-{per_year[issued.year]:05d}",
                    org.id,
                    org.customer.id,
                    contact[0] if contact else None,
                    issued,
                    issued + timedelta(days=30),
                    paid if paid < self.clock.today else None,
                    amount,
                    round(amount * 0.21),
                    "EUR",
                    name,
                    email,
                    org.address.street,
                    org.address.postal_code,
                    org.address.city,
                    "BE",
                    org.vat,
                )
            )
        return rows

    @staticmethod
    def _extra_users(invoice_id: int) -> int:
        return invoice_id % 4

    @staticmethod
    def _line_count(invoice_id: int) -> int:
        return 1 + (invoice_id % 4 > 0) + (invoice_id % 7 == 0)

    def invoice_lines(self) -> Iterator[Row]:
        for invoice in self.invoice_rows:
            invoice_id, plan = int(invoice[0]), self.organisations[int(invoice[2]) - 1].customer
            assert plan is not None
            lines = [
                (f"MIRA Software {plan.plan} plan, quarter from {invoice[5]}", 1, _PLANS[plan.plan]),
                ("Additional users", self._extra_users(invoice_id), 1500),
                ("Onboarding and training", 1, 45000),
            ]
            for line_no in range(1, self._line_count(invoice_id) + 1):
                yield (invoice_id, line_no, *lines[line_no - 1])

    # -- the tables, in the order they are written

    def tables(self) -> list[TableData]:
        ctx = self.ctx
        customer_rows = [
            (
                c.id,
                c.name,
                c.vat,
                c.plan,
                c.start,
                c.end,
                datetime.combine(c.start, datetime.min.time()) - timedelta(days=3),
            )
            for c in self.customers
        ]
        return [
            TableData("platform", customers, len(customer_rows), lambda: customer_rows),
            TableData("platform", users, len(self.user_rows), lambda: self.user_rows),
            TableData("platform", user_sessions, ctx.count(1200), self.sessions),
            TableData("platform", login_events, ctx.count(20000), self.logins),
            TableData("platform", materials, (len(self.customers) - 1) * self.materials_per_tenant, self.materials),
            TableData("platform", material_usage, ctx.count(15000), self.usage),
            TableData("platform", support_tickets, ctx.count(1200), self.tickets),
            TableData("business", companies, len(self.organisations), self.companies),
            TableData("business", contacts, len(self.contact_rows), lambda: self.contact_rows),
            TableData("business", contact_submissions, len(self.submission_rows), lambda: self.submission_rows),
            TableData("business", suppliers, len(self.supplier_rows), lambda: self.supplier_rows),
            TableData(
                "business", supplier_contacts, len(self.supplier_contact_rows), lambda: self.supplier_contact_rows
            ),
            TableData("business", invoices, len(self.invoice_rows), lambda: self.invoice_rows),
            TableData(
                "business",
                invoice_lines,
                sum(self._line_count(int(r[0])) for r in self.invoice_rows),
                self.invoice_lines,
            ),
        ]

    def people(self) -> dict[str, int]:
        return {
            "platform_user": len(set(self.user_person)),
            "customer_contact": len(set(self.contact_person)),
            "supplier_contact": len(self.supplier_people),
            "website_visitor": len(self.visitors),
        }

    def distinct_people(self) -> int:
        return len(self.email)


def _vat(rng: random.Random) -> str:
    return f"BE0{rng.randrange(200_000_000, 999_999_999)}"


def rows(ctx: Context) -> CompanyRows:
    return _World(ctx)
