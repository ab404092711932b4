"""``python -m datavow``: the same command as ``datavow``."""

from __future__ import annotations

from datavow.cli import main

if __name__ == "__main__":
    main(prog_name="datavow")
