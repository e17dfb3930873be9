"""Shared bench harness: ours and peers run interleaved, several rounds, wall and CPU seconds.

Why: one timing of ours followed by one of the peer measures the machine's load as much as the
code (this VM is shared). Interleaving the contenders round by round, rotating who goes first,
and reporting the median with the min–max spread of each, and the median of the per-round
ratios, makes the ratio the figure to read. CPU seconds (this process plus its waited-for
children: worker pools and peer subprocesses) are printed beside wall seconds, since wall time
on a loaded machine understates what a process pool gains and CPU time does not.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds
    cpu: float  # seconds of CPU: this process + children that ended during the call
    child_cpu: float = 0.0  # of which in children (worker pools, peer subprocesses)
    steal: float = 0.0  # CPU seconds the hypervisor gave other guests meanwhile, all CPUs (Linux)


def _steal() -> float:
    """The machine's steal time so far, in seconds (the 8th number of /proc/stat's `cpu` line, in
    USER_HZ ticks): on a shared VM, time our runnable threads waited for a host CPU, which no
    code of ours can win back; printed so that a noisy ratio shows why. 0 where not Linux."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime + _forkserver_cpu()


def _forkserver_cpu() -> float:
    """CPU of multiprocessing's fork server and the workers it forked and reaped (a pool's workers
    are its children, not ours, so RUSAGE_CHILDREN misses them while it runs)."""
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if not pid:
        return 0.0
    try:
        import psutil

        t = psutil.Process(pid).cpu_times()
    except Exception:  # gone, or psutil missing: counted when it ends, as a child
        return 0.0
    return t.user + t.system + t.children_user + t.children_system


def measure(fn: Callable[[], object]) -> tuple[Sample, object]:
    """One call of `fn`, timed; its result is returned so benches can check answers."""
    (c, k), stolen, t = _cpu(), _steal(), time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t
    c2, k2 = _cpu()
    return Sample(wall, (c2 - c) + (k2 - k), k2 - k, _steal() - stolen), out


def interleaved(
    contenders: dict[str, Callable[[], object]],
    rounds: int = 5,
    before: Callable[[str], None] | None = None,
) -> dict[str, list[Sample]]:
    """Each contender once per round, the order rotated each round; `before(name)` runs untimed
    before each call (e.g. to empty a cache for a cold measurement)."""
    names = list(contenders)
    out: dict[str, list[Sample]] = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            if before is not None:
                before(name)
            sample, _ = measure(contenders[name])
            out[name].append(sample)
    return out


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    """'median (min–max)'."""
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def rate(samples: list[Sample], items: int, fmt: str = "{:,.0f}") -> str:
    """Items per wall second: median (min–max) over rounds."""
    return spread([items / s.wall for s in samples], fmt)


def cpu_rate(samples: list[Sample], items: int, fmt: str = "{:,.0f}") -> str:
    """Items per CPU second: median (min–max) over rounds."""
    return spread([items / max(s.cpu, 1e-9) for s in samples], fmt)


def ratio(ours: list[Sample], peer: list[Sample], *, cpu: bool = False) -> str:
    """peer time ÷ our time, per round (rounds ran next to each other): median (min–max)."""
    key = (lambda s: s.cpu) if cpu else (lambda s: s.wall)
    return spread([key(p) / max(key(o), 1e-9) for o, p in zip(ours, peer, strict=True)], "{:.2f}") + "×"


def header(title: str, rounds: int) -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"== {title}: {rounds} interleaved rounds, median (min–max); load average {load:.1f} on {os.cpu_count()} CPUs"
    )
