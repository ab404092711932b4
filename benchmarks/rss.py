"""Peak resident memory of this process, for the benchmarks.

On Linux it is read from ``VmHWM``: ``ru_maxrss`` survives ``exec``, so a child process would
report the (larger) benchmark process it was started from.
"""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_bytes() -> int:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return int(status.split("VmHWM:")[1].split()[0]) * 1024
