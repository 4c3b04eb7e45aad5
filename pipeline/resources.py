"""Peak resident memory of one stage, for the run report and the benchmarks.

Linux keeps a process's peak RSS (``VmHWM``) and lets the process reset it by
writing ``5`` to ``/proc/self/clear_refs``; resetting before a stage and
reading after gives that stage's own peak, also when ``fusionloop run`` runs
every stage in one process. Where the reset is not allowed the figure is the
process's peak so far (an upper bound), and says so.
"""

from __future__ import annotations

import resource
from pathlib import Path

_PROC = Path("/proc/self")
_children_peak_at_reset = [0]  # KB; a child's peak counts only if it grew after


def reset_peak_rss() -> bool:
    """Start a new peak-RSS window; returns False where the OS does not allow it."""
    _children_peak_at_reset[0] = _children_peak_kb()
    try:
        (_PROC / "clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> int:
    """Peak RSS (MB) of this process since the last reset, or over its life.

    A child process (a solver binary) that ended in the window counts when it
    used more than this one and more than any child before the window.
    """
    own = _vm_hwm_kb()
    if own is None:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = _children_peak_kb()
    if children <= _children_peak_at_reset[0]:
        children = 0
    return round(max(own, children) / 1024)


def _children_peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def _vm_hwm_kb() -> int | None:
    try:
        status = (_PROC / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None
