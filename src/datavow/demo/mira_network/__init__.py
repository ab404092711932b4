"""Mira Network AB (Sweden): a CRM for commercial and higher education, and consulting.

``crm`` is Mira's own CRM (controller: marketing, sales, business development), ``platform`` the
Mira service its clients use (processor: each row of ``clients`` is a tenant and a controller),
``hr`` its employees, payroll and candidates (controller).
"""

from datavow.demo.generate import Company
from datavow.demo.mira_network.tables import crm, hr, platform
from datavow.demo.mira_network.world import rows

COMPANY = Company(
    name="mira-network",
    title="Mira Network AB (Sweden)",
    systems={"crm": crm, "platform": platform, "hr": hr},
    rows=rows,
)
