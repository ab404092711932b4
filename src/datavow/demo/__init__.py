"""The three demo companies, modelled on real privacy statements: their data maps and a
deterministic generator that fills real databases with realistic (and realistically messy) fake
people.

::

    from datavow.demo import build_demo
    built = build_demo("datavow-demo")          # SQLite files, one per system
    built = build_demo("demo", url="postgresql://me@localhost/demo", scale=20, force=True)
"""

from datavow.demo.build import MAP_FILE, PASSWORD_VARIABLE, DemoCompany, build_demo
from datavow.demo.generate import COMPANIES, Generated, Progress, company, generate
from datavow.demo.mapfiles import packaged_map, point_map
from datavow.demo.record import record_demo

__all__ = [
    "COMPANIES",
    "MAP_FILE",
    "PASSWORD_VARIABLE",
    "DemoCompany",
    "Generated",
    "Progress",
    "build_demo",
    "company",
    "generate",
    "packaged_map",
    "point_map",
    "record_demo",
]
