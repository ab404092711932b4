"""Miralix (Denmark): business telephony with call history and voicemail.

``telephony`` holds each customer company's users, calls and voicemail (each row of
``companies`` is a tenant: the employer decides what is collected); ``support`` is Miralix's
own case system for error diagnosis and customer service.
"""

from datavow.demo.generate import Company
from datavow.demo.miralix.tables import support, telephony
from datavow.demo.miralix.world import rows

COMPANY = Company(
    name="miralix",
    title="Miralix (Denmark)",
    systems={"telephony": telephony, "support": support},
    rows=rows,
)
