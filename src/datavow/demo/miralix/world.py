"""The people and rows of Miralix (Denmark): business telephony, call history and voicemail.

Planted mess: colleagues who share the switchboard's number; numbers written three ways
(``+45 76 12 34 56``, ``+4576123456``, ``004576123456``); the same caller in many companies' call
history, and users of one customer in another customer's history; withheld numbers; calls and
voicemail to the queue rather than a person; names and numbers inside voicemail transcriptions;
support cases reported by users under their address typed differently, and by people who are not
users at all; years of calls, because the policy names no period to delete them after.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from datavow.demo.bulk import Row
from datavow.demo.fake import (
    Mailboxes,
    Pools,
    Population,
    as_dialled,
    as_typed,
    below,
    domain_for,
    phone_plan,
    pick,
)
from datavow.demo.generate import CompanyRows, Context, TableData
from datavow.demo.miralix import tables as t

_TITLES = ("Receptionist", "Sales", "Support", "Accountant", "Manager", "Technician", "Nurse", None)
_CASES = (
    ("Voicemail not sent to e-mail", "Messages for {name} are not forwarded to {email}."),
    ("Calls drop after 30 seconds", "Happens on the queue, e.g. from {number} this morning."),
    ("Queue statistics look wrong", "The report shows no calls for yesterday afternoon."),
    ("Cannot transfer calls", "Transfer to {name} (ext. {extension}) fails with a busy tone."),
    ("New user needs a number", "Please give {name} a direct number and voicemail."),
)
_VOICEMAIL = "Hej {first}, det er {caller} fra {company}. Ring venligst tilbage på {number}. Tak."
_AGENTS = ("MJ", "LK", "SP", "AH", "TB")


@dataclass(frozen=True)
class _Customer:
    id: int
    name: str
    domain: str
    main_number: str


class _World:
    def __init__(self, ctx: Context) -> None:
        self.ctx, self.clock = ctx, ctx.clock
        pools = Pools.draw("da_DK", ctx.seed)
        self.pools = pools
        self.population = Population(
            ((pools, 1.0),),
            phone_plan(
                "+45 ", ("2# ## ## ##", "3# ## ## ##", "4# ## ## ##", "5# ## ## ##", "6# ## ## ##", "7# ## ## ##")
            ),
        )
        self.mail = Mailboxes()
        self.n_users, self.n_callers, self.n_reporters = ctx.count(800, 10), ctx.count(1500, 10), ctx.count(60, 3)
        self.crowd = self.population.crowd(
            ctx.rng("people"), self.n_users + self.n_callers + self.n_reporters, self.clock.today, sharing=0.1
        )
        self.customers = self._customers()
        self.user_rows: list[Row] = []
        self.user_customer: list[_Customer] = []
        self._users()
        self.callers_seen: set[int] = set()
        self.reporters_seen: set[int] = set()

    def _customers(self) -> list[_Customer]:
        rng = self.ctx.rng("companies")
        found = []
        for cid in range(1, self.ctx.count(50, 3) + 1):
            name = pick(rng, self.pools.companies)
            found.append(_Customer(cid, name, domain_for(name, "dk"), self.population.phone(rng)))
        return found

    def company_rows(self) -> Iterator[Row]:
        rng = self.ctx.rng("companies", "rows")
        for c in self.customers:
            where = self.population.address(rng)
            ended = self.clock.day_ago(rng, 3 * 365) if c.id % 9 == 4 else None
            yield (
                c.id,
                c.name,
                f"{rng.randrange(10**7, 10**8)}",
                c.main_number,
                where.street,
                where.postal_code,
                where.city,
                self.clock.ago(rng, 12 * 365, 4 * 365),
                ended,
            )

    def _users(self) -> None:
        rng = self.ctx.rng("users")
        weights = [rng.paretovariate(1.3) for _ in self.customers]
        extensions: dict[int, int] = {}
        for u in range(self.n_users):
            c = self.customers[u] if u < len(self.customers) else rng.choices(self.customers, weights)[0]
            extensions[c.id] = extensions.get(c.id, 100) + 1
            email = self.mail.work(self.crowd, u, c.domain, rng) if rng.random() < 0.95 else None
            # No direct number: calls reach them through the switchboard, whose number they share.
            phone = c.main_number if rng.random() < 0.12 else self.crowd.phone[u]
            mobile = self.population.phone(rng) if rng.random() < 0.6 else None
            self.user_rows.append(
                (
                    u + 1,
                    c.id,
                    self.crowd.first[u],
                    self.crowd.last[u],
                    email,
                    phone,
                    mobile,
                    str(extensions[c.id]),
                    pick(rng, _TITLES),
                    pick(rng, ("da", "da", "da", "en")),
                    rng.random() > 0.07,
                    self.clock.ago(rng, 9 * 365, 10),
                )
            )
            self.user_customer.append(c)

    def _caller(self, rng: random.Random) -> str:
        """An outside number: one of the regular callers, as the exchange happened to write it."""
        if rng.random() < 0.02:
            return "anonymous"
        if rng.random() < 0.05:  # a user of another customer calling
            return str(self.user_rows[below(rng, self.n_users)][5])
        person = self.n_users + int(rng.random() ** 2 * self.n_callers)  # some call a lot
        self.callers_seen.add(person)
        return as_dialled(self.crowd.phone[person], rng)

    def calls(self) -> Iterator[Row]:
        rng = self.ctx.rng("call_history")
        users = self.user_rows
        for call in range(1, self.ctx.count(25000) + 1):
            u = below(rng, self.n_users)
            user = users[u]
            customer = self.user_customer[u]
            answered = rng.random() < 0.85
            roll = rng.random()
            if roll < 0.55:
                direction, caller, callee = "in", self._caller(rng), str(user[5])
            elif roll < 0.9:
                direction, caller, callee = "out", str(user[5]), self._caller(rng)
            else:
                colleague = users[below(rng, self.n_users)]
                direction, caller, callee = "internal", str(user[5]), str(colleague[5])
            # Calls to the queue or the switchboard, or not picked up, belong to nobody.
            user_id = user[0] if answered and rng.random() < 0.9 else None
            if user_id is None and direction == "in":
                callee = customer.main_number
            yield (
                call,
                customer.id,
                user_id,
                caller,
                callee,
                direction,
                self.clock.ago(rng, 6 * 365),
                int(rng.expovariate(1 / 180)) if answered else 0,
                answered,
            )

    @staticmethod
    def _mailbox_size(u: int) -> int:
        return u % 5

    def voicemail(self) -> Iterator[Row]:
        rng = self.ctx.rng("voicemail")
        for u, user in enumerate(self.user_rows):
            customer = self.user_customer[u]
            for message in range(1, self._mailbox_size(u) + 1):
                caller = self._caller(rng)
                number = None if caller == "anonymous" else caller
                other = self.n_users + below(rng, self.n_callers)
                text = _VOICEMAIL.format(
                    first=user[2],
                    caller=self.crowd.name(other),
                    company=pick(rng, self.pools.companies),
                    number=number or "mit nummer",
                )
                yield (
                    user[0],
                    message,
                    customer.id,
                    number,
                    self.clock.ago(rng, 4 * 365),
                    rng.randrange(4, 120),
                    f"vm/{customer.id}/{user[0]}/{message:04d}.wav",
                    text if rng.random() < 0.8 else None,
                    rng.random() < 0.7,
                )

    def cases(self) -> Iterator[Row]:
        rng = self.ctx.rng("cases")
        partners = [domain_for(pick(rng, self.pools.companies), "dk") for _ in range(5)]
        reporter_email: dict[int, str] = {}
        for case in range(1, self.ctx.count(600) + 1):
            u = below(rng, self.n_users)
            user, customer = self.user_rows[u], self.user_customer[u]
            if rng.random() < 0.75 and user[4]:  # a user, who types the address as it comes
                uid: int | None = user[0]
                name, email = f"{user[2]} {user[3]}", as_typed(str(user[4]), rng)
                phone = as_dialled(str(user[6] or user[5]), rng)
            else:  # the customer's IT partner, or someone who never had a Miralix account
                uid = None
                person = self.n_users + self.n_callers + below(rng, self.n_reporters)
                self.reporters_seen.add(person)
                name, phone = self.crowd.name(person), self.crowd.phone[person]
                if person not in reporter_email:
                    reporter_email[person] = self.mail.work(self.crowd, person, pick(rng, partners), rng)
                email = reporter_email[person]
            subject, text = pick(rng, _CASES)
            mentioned = self.user_rows[below(rng, self.n_users)]
            text = text.format(
                name=f"{mentioned[2]} {mentioned[3]}",
                email=mentioned[4],
                number=self._caller(rng),
                extension=mentioned[7],
            )
            opened = self.clock.ago(rng, 6 * 365)
            closed = self.clock.later(rng, opened, 30, 0.02) if rng.random() < 0.9 else None
            yield (
                case,
                customer.id,
                uid,
                name,
                email,
                phone,
                subject,
                text,
                "closed" if closed else "open",
                pick(rng, _AGENTS) if closed or rng.random() < 0.6 else None,
                opened,
                closed,
            )

    def tables(self) -> list[TableData]:
        ctx = self.ctx
        return [
            TableData("telephony", t.companies, len(self.customers), self.company_rows),
            TableData("telephony", t.users, len(self.user_rows), lambda: self.user_rows),
            TableData("telephony", t.call_history, ctx.count(25000), self.calls),
            TableData("telephony", t.voicemail, sum(map(self._mailbox_size, range(self.n_users))), self.voicemail),
            TableData("support", t.cases, ctx.count(600), self.cases),
        ]

    def people(self) -> dict[str, int]:
        return {"user": self.n_users, "caller": len(self.callers_seen), "support_contact": len(self.reporters_seen)}

    def distinct_people(self) -> int:
        return self.n_users + len(self.callers_seen) + len(self.reporters_seen)


def rows(ctx: Context) -> CompanyRows:
    return _World(ctx)
