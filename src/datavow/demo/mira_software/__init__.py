"""MIRA Software (IZIT bv, Belgium): a multi-tenant material-management platform.

``platform`` is run as processor for the customers (each row of ``customers`` is a tenant and a
controller); ``business`` is IZIT's own: its website's contact form, customers, prospects,
suppliers and invoices.
"""

from datavow.demo.generate import Company
from datavow.demo.mira_software.tables import business, platform
from datavow.demo.mira_software.world import rows

COMPANY = Company(
    name="mira-software",
    title="MIRA Software (IZIT bv, Belgium)",
    systems={"platform": platform, "business": business},
    rows=rows,
)
