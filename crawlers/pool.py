"""Many origins at once, politely: a bounded pool of threads, one request at a time per host.

Each origin is a job of steps (crawlers/origin.py). A worker takes the job whose host's turn came
first, makes its one request, and puts the job back to wait for the host's next turn (the host
interval, a robots.txt Crawl-delay, a Retry-After). No worker sleeps waiting on a host, so a
60-second Crawl-delay holds back that origin only and the others go on. Threads, not asyncio: the
work is small blocking requests with the guard, caps and deadlines of crawlers/http.py, which a
thread per request in flight keeps simple, and the GIL is released while waiting on sockets.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections.abc import Iterable, Iterator

from crawlers.http import Client
from crawlers.origin import OriginFetch, OriginJob, RobotsCache

DEFAULT_WORKERS = 64


def fetch_many(
    client: Client,
    origins: Iterable[str],
    our_token: str,
    *,
    workers: int = DEFAULT_WORKERS,
    cache: RobotsCache | None = None,
    max_open: int | None = None,
    tick: float = 0.5,
) -> Iterator[list[OriginFetch]]:
    """Yield each origin's results as it completes (in completion order); an empty list every
    `tick` seconds without one, so the caller can flush a batch on time."""
    sched = _Scheduler(client, iter(origins), our_token, cache, max_open or max(workers * 32, 256))
    threads = [threading.Thread(target=sched.work, name=f"fetch-{i}", daemon=True) for i in range(max(1, workers))]
    sched.workers_left = len(threads)
    for t in threads:
        t.start()
    try:
        while True:
            try:
                item = sched.done.get(timeout=tick)
            except queue.Empty:
                yield []
                continue
            if item is None:
                break
            yield item
        if sched.failure is not None:
            raise sched.failure
    finally:
        sched.stop()


class _Scheduler:
    def __init__(self, client: Client, origins: Iterator[str], token: str, cache, max_open: int) -> None:
        self.client = client
        self.origins = origins
        self.token = token
        self.cache = cache
        self.max_open = max_open
        self.done: queue.Queue[list[OriginFetch] | None] = queue.Queue()
        self.failure: BaseException | None = None
        self._cv = threading.Condition()
        self._heap: list[tuple[float, int, OriginJob]] = []
        self._parked: dict[str, list[OriginJob]] = {}  # jobs waiting for a busy host
        self._busy: set[str] = set()
        self._seq = itertools.count()
        self._open = 0
        self._exhausted = False
        self._stopped = False
        self.workers_left = 0

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify_all()

    def _push(self, job: OriginJob, at: float) -> None:
        heapq.heappush(self._heap, (at, next(self._seq), job))

    def _ready_at(self, job: OriginJob) -> float:
        return self.client.next_turn(job.host) if job.needs_request() else 0.0

    def _admit(self) -> bool:
        if self._exhausted or self._open >= self.max_open:
            return False
        try:
            origin = next(self.origins)
        except StopIteration:
            self._exhausted = True
            return False
        self._open += 1
        job = OriginJob(origin, self.token, self.cache)
        self._push(job, self._ready_at(job))
        return True

    def _take(self) -> OriginJob | None:
        """The next job whose host is free and whose turn has come (waits for one); None: all done."""
        with self._cv:
            while not self._stopped:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _, _, job = heapq.heappop(self._heap)
                    if job.host in self._busy:
                        self._parked.setdefault(job.host, []).append(job)
                        continue
                    turn = self._ready_at(job)
                    if turn > now:  # the host's clock moved (a Crawl-delay, a Retry-After)
                        self._push(job, turn)
                        continue
                    self._busy.add(job.host)
                    return job
                if self._admit():
                    continue
                if self._open == 0 and self._exhausted:
                    self._cv.notify_all()  # all done: every waiting worker may leave
                    return None
                self._cv.wait(timeout=(self._heap[0][0] - now) if self._heap else None)
            return None

    def _release(self, job: OriginJob) -> None:
        with self._cv:
            self._busy.discard(job.host)
            for parked in self._parked.pop(job.host, []):
                self._push(parked, 0.0)
            if job.finished:
                self._open -= 1
                self.done.put(job.results)
            else:
                self._push(job, self._ready_at(job))
            self._cv.notify()  # one waiter re-reads the heap: waking all 64 costs more than the work

    def work(self) -> None:
        try:
            while True:
                job = self._take()
                if job is None:
                    break
                try:
                    job.step(self.client)  # never raises for the origin's own trouble
                finally:
                    self._release(job)
        except BaseException as exc:  # a bug in the scheduler itself: stop the run, say so
            with self._cv:
                self.failure = self.failure or exc
                self._stopped = True
                self._cv.notify_all()
        finally:
            with self._cv:
                self.workers_left -= 1
                last = self.workers_left == 0
            if last:
                self.done.put(None)
