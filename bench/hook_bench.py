"""Hook benchmark: the checker in-process, then the HTTP service as a user runs it.

    python bench/hook_bench.py [--ext ../shared/ext] [--origins 2000] [--rounds 3] [--seconds 5]
                               [--baseline /path/to/other/checkout]

In-process: `Checker.check` on new URLs of warm origins, and cached, against protego's
`can_fetch` on pre-parsed files (the same per-origin parse cache) for the same URLs.

HTTP: every server is its own process (`provenance serve`, and a hello-world FastAPI app as the
floor: one async route parsing one query parameter and answering a small JSON; and a bare ASGI app
doing the same without FastAPI, the floor under GET /check as ours answers it, in a plain ASGI
layer), and every client
is another process, never the server's own:
  - throughput: wrk (1 thread, 8 connections), each request a URL never asked before;
  - latency at a fixed rate: a Python client process sending 500 req/s open-loop on one
    keep-alive connection, latency counted from the scheduled send time (no coordinated omission);
  - POST batches of 5,000 new URLs from a Python client process: URLs/s, bytes per URL and the
    server's CPU per URL (what a loaded machine changes least).
Before any of these, each server is warmed with batches until every origin has been asked more
than `_COMPILE_AFTER` paths (files parsed, rule sets compiled, as in a running hook), so what
is measured after does not depend on how many requests the GET phases happened to send; the
server's CPU per URL of those warming batches (after the first, which parses the files) is
printed too: what origins cost while their rule sets compile.
Servers and clients run interleaved over --rounds; the median and the spread (min-max) are
printed. `--baseline DIR` also runs `provenance serve` from another checkout of the same schema
(e.g. `git archive BASE | tar -x -C DIR`), for before / after.
The machine this runs on may be shared: compare ratios from one run, not figures across runs.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PATHS = ["/", "/news/a.html", "/search?q=1", "/wp-admin/x", "/img/a.jpg", "/about/team"]
BATCH = 5000

HELLO = """
import json, sys
import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response
app = FastAPI()
@app.get("/check")
async def check(url: str) -> Response:
    return Response(json.dumps({"url": url, "verdict": "allowed"}), media_type="application/json")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""

# The floor under ours as it now answers GET /check (in a plain ASGI layer, FastAPI only for the
# rest): a bare ASGI app that parses the query string and answers a small JSON, nothing else.
ASGI_HELLO = """
import json, sys
from urllib.parse import parse_qsl
import uvicorn
async def app(scope, receive, send):
    url = dict(parse_qsl(scope["query_string"].decode("latin-1"))).get("url", "")
    body = json.dumps({"url": url, "verdict": "allowed"}).encode()
    headers = [(b"content-length", b"%d" % len(body)), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""
FLOORS = {"floor": HELLO, "asgi": ASGI_HELLO}

WRK_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/check?url=https%%3A%%2F%%2Fs" .. (counter %% %d) .. ".example%%2Fnews%%2F%s" .. counter)
end
"""


# -- client processes (run as `hook_bench.py --client ...`) ----------------------------------------
def client_rate(port: int, rate: float, seconds: float, origins: int, tag: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    n = int(rate * seconds)
    latencies = []
    start = time.perf_counter() + 0.05
    for i in range(n):
        due = start + i / rate
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        conn.request("GET", f"/check?url=https%3A%2F%2Fs{i % origins}.example%2Frate%2F{tag}{i}")
        conn.getresponse().read()
        latencies.append((time.perf_counter() - due) * 1000)
    elapsed = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=1000)
    print(json.dumps({"p50": q[499], "p99": q[989], "p999": q[998], "max": max(latencies), "rate": n / elapsed}))


def client_batches(port: int, batches: int, origins: int, tag: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    total_bytes = urls = 0
    start = time.perf_counter()
    for b in range(batches):
        body = json.dumps(
            {"urls": [f"https://s{(b * BATCH + i) % origins}.example/batch/{tag}{b}/{i}" for i in range(BATCH)]}
        )
        conn.request("POST", "/check", body=body, headers={"content-type": "application/json"})
        answer = conn.getresponse().read()
        total_bytes += len(answer)
        urls += BATCH
    elapsed = time.perf_counter() - start
    print(json.dumps({"urls_per_s": urls / elapsed, "bytes_per_url": total_bytes / urls}))


# -- the runner -----------------------------------------------------------------------------------
def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, proc: subprocess.Popen, log: Path) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/check?url=https%3A%2F%2Fs0.example%2F")
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


class Server:
    def __init__(self, name: str, argv: list[str], env: dict, cwd: Path) -> None:
        self.name, self.port = name, _port()
        # stderr to a file: a pipe nobody reads fills up and blocks the server's next log line
        self.log = Path(tempfile.mkstemp(prefix=f"hook_bench_{name}_", suffix=".log")[1])
        with self.log.open("w") as err:
            argv = [a.replace("{port}", str(self.port)) for a in argv]
            self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stderr=err)
        _wait(self.port, self.proc, self.log)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        errors = self.log.read_text().count("Traceback")
        if errors:
            print(f"  {self.name}: {errors} tracebacks in the server's log {self.log}", file=sys.stderr)
        else:
            self.log.unlink()


def _client(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--client", *args], capture_output=True, text=True, check=True, timeout=600
    )
    return json.loads(out.stdout)


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used: robust to a loaded machine, unlike req/s."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(port: int, seconds: float, origins: int, tag: str, tmp: Path, pid: int) -> dict:
    script = tmp / f"wrk-{tag}.lua"
    script.write_text(WRK_SCRIPT % (origins, tag))
    cpu = _cpu(pid)
    out = subprocess.run(
        ["wrk", "-t1", "-c8", f"-d{seconds:g}s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = _cpu(pid) - cpu
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    done = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "cpu_us": 1e6 * cpu / max(done, 1),
        "p50": lat.get("50"),
        "p99": lat.get("99"),
        "non2xx": int(errors.group(1)) if errors else 0,
    }


def _spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def _store(path: Path, bodies: list[bytes]) -> None:
    from scanner.corpus.records import sha256_hex
    from scanner.evidence import Observation, write_observations
    from scanner.store import Store

    seen = datetime(2025, 1, 1, tzinfo=UTC)
    with Store.open(path) as store:
        write_observations(
            store,
            [
                (b, Observation(sha256_hex(b), "robots.txt", f"https://s{i}.example/robots.txt", seen, "import", 200))
                for i, b in enumerate(bodies)
            ],
        )


def in_process(path: Path, bodies: list[bytes], n_urls: int) -> None:
    from scanner.hook.checker import Checker

    urls = [f"https://s{i % len(bodies)}.example{PATHS[i % len(PATHS)]}{i // len(bodies)}" for i in range(n_urls)]
    checker = Checker(path, policy="generic")
    for i in range(len(bodies)):  # warm origins: files parsed, rule sets built
        checker.check(urls[i])
    from scanner.hook.service import BatchRequest, Outcomes, freeze_snapshot, tune_gc

    tune_gc()  # the collector as `provenance serve` sets it, the snapshot frozen as it freezes it
    freeze_snapshot()
    outcomes, parse = Outcomes(), 0.0
    deciding = answering = 0.0
    for b in range(4):  # the POST path in-process: what the checker costs, and what the service adds
        batch = [f"https://s{(b * BATCH + i) % len(bodies)}.example/inproc/{b}/{i}" for i in range(BATCH)]
        body = json.dumps({"urls": batch})
        t = time.process_time()
        req = BatchRequest.model_validate_json(body)
        t1 = time.process_time()
        answers = checker.answers_many(req.urls)
        t2 = time.process_time()
        outcomes.batch(req.urls, answers, checker.keeps)
        t3 = time.process_time()
        parse, deciding, answering = parse + t1 - t, deciding + t2 - t1, answering + t3 - t2
    print(f"in-process, {len(bodies)} origins with real robots.txt, {n_urls} URLs")
    per = 1e6 / (4 * BATCH)
    print(
        f"  POST path per URL, CPU: parse {parse * per:.1f} us + answers_many (new URLs) {deciding * per:.1f} us "
        f"+ answer (outcome ids, encoding) {answering * per:.1f} us -> "
        f"{1e6 / ((parse + deciding + answering) * per):,.0f} URLs/s; "
        f"without the checker {1e6 / ((parse + answering) * per):,.0f} URLs/s"
    )
    print("  (Checker.check against protego, like for like: python bench/checker_bench.py)")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        kind, *rest = sys.argv[2:]
        if kind == "rate":
            client_rate(int(rest[0]), float(rest[1]), float(rest[2]), int(rest[3]), rest[4])
        else:
            client_batches(int(rest[0]), int(rest[1]), int(rest[2]), rest[3])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", REPO.parent / "shared/ext")))
    ap.add_argument("--origins", type=int, default=2000)
    ap.add_argument("--urls", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("--baseline", type=Path, help="another checkout whose `provenance serve` to run too")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found (apt-get install wrk)")
    sys.path.insert(0, str(REPO))
    with tarfile.open(args.ext / "protego-robots-corpus/robots_txt_files.tar.gz") as tar:
        bodies = [tar.extractfile(m).read() for m in tar if m.isfile()][: args.origins]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "h.duckdb"
        _store(path, bodies)
        in_process(path, bodies, args.urls)

        serve = [
            sys.executable,
            "-m",
            "scanner",
            "serve",
            "--store",
            str(path),
            "--policy",
            "generic",
            "--port",
            "{port}",
        ]
        contenders = {"ours": (serve, REPO)}
        if args.baseline:
            contenders["baseline"] = (serve, args.baseline.resolve())
        for floor, script in FLOORS.items():
            (tmp / f"{floor}.py").write_text(script)
        results: dict[str, dict[str, list]] = {}
        from scanner.hook.checker import _COMPILE_AFTER

        warming = -(-(_COMPILE_AFTER + 1) * len(bodies) // BATCH)  # batches: > _COMPILE_AFTER paths per origin
        for r in range(args.rounds):
            order = [*contenders, *FLOORS]
            if r % 2:
                order.reverse()
            for name in order:
                if name in FLOORS:
                    server = Server(name, [sys.executable, str(tmp / f"{name}.py"), "{port}"], dict(os.environ), tmp)
                else:
                    argv, root = contenders[name]
                    server = Server(name, argv, os.environ | {"PYTHONPATH": str(root)}, root)
                try:
                    res = results.setdefault(name, {})
                    if name not in FLOORS:  # files parsed, then every origin's rule set compiled
                        _client("batches", str(server.port), "1", str(len(bodies)), f"warm{r}")
                        cpu = _cpu(server.proc.pid)
                        _client("batches", str(server.port), str(warming), str(len(bodies)), f"compile{r}")
                        cpu = _cpu(server.proc.pid) - cpu
                        res.setdefault("compile_cpu_us", []).append(1e6 * cpu / (warming * BATCH))
                    w = _wrk(server.port, args.seconds, len(bodies), f"r{r}", tmp, server.proc.pid)
                    res.setdefault("rps", []).append(w["rps"])
                    res.setdefault("cpu_us", []).append(w["cpu_us"])
                    res.setdefault("wrk_p99", []).append(w["p99"])
                    res.setdefault("non2xx", []).append(w["non2xx"])
                    lat = _client(
                        "rate", str(server.port), str(args.rate), str(args.seconds), str(len(bodies)), f"r{r}"
                    )
                    for k in ("p50", "p99", "p999", "max"):
                        res.setdefault(k, []).append(lat[k])
                    if name not in FLOORS:
                        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                        conn.request("GET", "/health")
                        gc_stats = json.loads(conn.getresponse().read()).get("gc")
                        res.setdefault("gc", []).append(gc_stats)
                        cpu = _cpu(server.proc.pid)
                        b = _client("batches", str(server.port), str(args.batches), str(len(bodies)), f"b{r}")
                        cpu = _cpu(server.proc.pid) - cpu
                        res.setdefault("batch", []).append(b["urls_per_s"])
                        res.setdefault("batch_cpu_us", []).append(1e6 * cpu / (args.batches * BATCH))
                        res.setdefault("bytes_per_url", []).append(b["bytes_per_url"])
                finally:
                    server.stop()
        load = os.getloadavg()
        print(
            f"\nHTTP on loopback, {args.rounds} interleaved rounds, median (min-max); "
            f"load average {load[0]:.1f} on {os.cpu_count()} CPUs (a shared machine: compare within this run)"
        )
        stack = [m for m in ("httptools", "uvloop") if importlib.util.find_spec(m) is not None]
        print(f"  server stack (uvicorn's auto choice, every server alike): {' + '.join(stack) or 'h11 + asyncio'}")
        floor_rps = results["floor"]["rps"]
        floor_cpu = results["floor"]["cpu_us"]
        print(
            f"  floor: hello-world FastAPI (async, one query parameter)  {_spread(floor_rps)} req/s (wrk 8 conn), "
            f"server CPU {_spread(floor_cpu)} us per request"
        )
        print(
            f"         at {args.rate:g} req/s: p50 {_spread(results['floor']['p50'], '{:.2f}')} ms  "
            f"p99 {_spread(results['floor']['p99'], '{:.2f}')} ms"
        )
        asgi = results["asgi"]
        print(
            f"  floor: bare ASGI app (no FastAPI; query parsed, small JSON)  {_spread(asgi['rps'])} req/s, "
            f"server CPU {_spread(asgi['cpu_us'])} us per request; at {args.rate:g} req/s p99 "
            f"{_spread(asgi['p99'], '{:.2f}')} ms"
        )
        for name in contenders:
            res = results[name]
            ratio = [a / b for a, b in zip(res["rps"], floor_rps, strict=True)]
            cpu_ratio = [b / a for a, b in zip(res["cpu_us"], floor_cpu, strict=True)]
            print(
                f"  {name:8s} GET /check new URLs: {_spread(res['rps'])} req/s (wrk 8 conn, p99 {res['wrk_p99']}), "
                f"{_spread([100 * x for x in ratio], '{:.0f}')} % of the floor's req/s; server CPU "
                f"{_spread(res['cpu_us'])} us per request, floor/ours "
                f"{_spread([100 * x for x in cpu_ratio], '{:.0f}')} %"
                f" (goal >= 70 %); non-2xx {sum(res['non2xx'])}"
            )
            bare = [a / b for a, b in zip(res["rps"], asgi["rps"], strict=True)]
            print(f"           {_spread([100 * x for x in bare], '{:.0f}')} % of the bare ASGI floor's req/s")
            print(
                f"           at {args.rate:g} req/s, 1 conn: p50 {_spread(res['p50'], '{:.2f}')} ms  "
                f"p99 {_spread(res['p99'], '{:.2f}')} ms  p99.9 {_spread(res['p999'], '{:.2f}')} ms  "
                f"max {_spread(res['max'], '{:.1f}')} ms   (goal p99 <= 10 ms)"
            )
            print(f"           server GC after wrk and the paced run: {res['gc'][-1] or 'not reported'}")
            print(
                f"           POST batches of {BATCH:,} new URLs: {_spread(res['batch'])} URLs/s "
                f"(goal >= 60,000), {_spread(res['bytes_per_url'])} bytes per URL; server CPU "
                f"{_spread(res['batch_cpu_us'], '{:.1f}')} us per URL "
                f"({_spread([1e6 / x for x in res['batch_cpu_us']])} URLs per server CPU-second)"
            )
            print(
                f"           while rule sets compile ({warming} batches after the first): server CPU "
                f"{_spread(res['compile_cpu_us'], '{:.1f}')} us per URL"
            )


if __name__ == "__main__":
    main()
