"""Thread control for CPU-heavy work, in one place: BLAS and OpenMP pools sized to the machine.

scikit-learn's ``HistGradientBoostingRegressor`` runs on OpenMP and numpy/scipy
on BLAS; each starts one thread per core by default.  When several processes
(or tool worker threads) do this at once on a small machine, the threads
oversubscribe the cores and spin-wait on each other: a load-forecast backtest
measured 40-467 s with the default pools on a busy 2-core machine against
4-6 s with one thread, for identical scores (GridSage issue 17).

:func:`limited_threads` caps both pools with ``threadpoolctl`` for the span of a
``with`` block (or a decorated function) and restores them afterwards.  The cap
is, in order of preference:

1. the ``threads`` argument;
2. the environment variable ``GRIDSAGE_THREADS`` (a positive integer);
3. the usable cores divided by ``workers`` (processes or threads that run such
   work side by side), lowered to the cores left idle by the current 1-minute
   load average, never below 1.

Example
-------
>>> from gridsage.tools._threads import limited_threads
>>> with limited_threads():
...     pass  # fit models here
"""

from __future__ import annotations

import functools
import os
from contextlib import contextmanager

#: environment variable that fixes the thread cap [threads]
THREADS_ENV = "GRIDSAGE_THREADS"


def usable_cores() -> int:
    """Cores this process may run on [-] (its CPU affinity where the OS reports it, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def thread_budget(workers: int = 1) -> int:
    """Threads one worker should use for BLAS/OpenMP work [-].

    Parameters
    ----------
    workers : int, default 1
        Workers [-] running CPU-heavy work side by side.

    Returns
    -------
    int
        ``GRIDSAGE_THREADS`` when set; else ``max(1, min(cores // workers, cores - round(load_1min) + 1))``,
        where the ``+ 1`` counts this worker's own share of the load average.

    Raises
    ------
    InputError
        If ``GRIDSAGE_THREADS`` is set but is not a positive integer.

    Notes
    -----
    On a machine already busy with other work, extra threads only add contention
    (OpenMP threads spin-wait for stragglers), so the budget shrinks with the load.
    """
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            from gridsage.errors import InputError

            raise InputError(f"{THREADS_ENV} must be a positive integer", field=THREADS_ENV,
                             fix=f"set {THREADS_ENV} to the threads per worker, e.g. 1, or unset it.")
        return int(raw)
    cores = usable_cores()
    share = max(1, cores // max(1, int(workers)))
    try:
        idle = cores - int(round(os.getloadavg()[0])) + 1
    except (AttributeError, OSError):
        idle = cores
    return max(1, min(share, idle))


@contextmanager
def limited_threads(threads: int | None = None, workers: int = 1):
    """Cap the BLAS and OpenMP thread pools inside a ``with`` block; usable as a decorator.

    Parameters
    ----------
    threads : int, optional
        Threads per pool [-]; default :func:`thread_budget` (``GRIDSAGE_THREADS`` or sized to the machine).
    workers : int, default 1
        Workers [-] running side by side, when ``threads`` is not given.

    Yields
    ------
    int
        The cap in force [threads].

    Notes
    -----
    ``threadpoolctl.threadpool_limits`` sets BLAS pools process-wide and the OpenMP
    pool for the calling thread; the previous limits are restored on exit.

    References
    ----------
    .. [1] threadpoolctl documentation, "threadpool_limits" (scikit-learn developers);
       scikit-learn user guide, section 9.3 "Parallelism, resource management, and configuration".
    """
    from threadpoolctl import threadpool_limits

    cap = int(threads) if threads is not None else thread_budget(workers)
    with threadpool_limits(limits=max(1, cap)):
        yield cap


def with_limited_threads(func=None, *, threads: int | None = None, workers: int = 1):
    """Decorator form of :func:`limited_threads`: ``@with_limited_threads`` or ``@with_limited_threads(threads=1)``."""
    def wrap(f):
        @functools.wraps(f)
        def inner(*args, **kwargs):
            with limited_threads(threads, workers):
                return f(*args, **kwargs)
        return inner

    return wrap(func) if func is not None else wrap
