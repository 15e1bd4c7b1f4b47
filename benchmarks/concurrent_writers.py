"""Many assessors at once: N writers answer whole assessments on one database file, through the questionnaire's
own save path, and not one answer is lost.

    python benchmarks/concurrent_writers.py                          # N = 1, 5, 20, 50 separate processes
    python benchmarks/concurrent_writers.py --writers 5 --mode threads
    python benchmarks/concurrent_writers.py --writers 20 --pages     # also time the Overview and Presentation

Each writer is a separate process (`--mode processes`, multiprocessing "spawn") or, as sessions of one
Streamlit server are, a thread of one process (`--mode threads`). It answers every item of its own unit's new
round (a campaign; `--scope`, default the clauses: 32 items): a maturity level, then the evidence, each one save as the
questionnaire makes it (`dashboard.writes.run`: a leased connection `db.lease` with its lock wait, the access
check `access.authorise_write`, then `store.update_response`), with `--think` seconds between saves. In the
same-round variant (`--same-round K`) K writers answer the same round's items at once, each with values of its
own, in a shuffled order.

Afterwards the database is read (never the writers' own counts): an answer is *saved* when the stored value
is the writer's (own rounds), or, in the same round, when the stored value is that of the item's last logged
change and every save that changed a value is in the item's history; otherwise it is *lost*. A save that failed
(an exception, e.g. the file busy past AIMS_LOCK_WAIT_SECONDS) is lost too. Save latency is measured around the
save call; *lock waits* counts the saves that found the file held by another process and waited for it.

With `--pages`, one more process reruns the Overview and the Presentation page (Streamlit's AppTest, app.py's
frame then the page, as pages_bench.py does) for as long as the writers write, and prints the p50/p95 rerun
times; `--pages-root DIR` runs the pages from another checkout (to compare with the code before a change).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import pickle
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: make the core importable
    sys.path.insert(0, str(ROOT))

from benchmarks.answer_latency import percentile  # noqa: E402  (one definition of the percentiles reported)

__all__ = ["Result", "main", "prepare", "run_writers", "verify"]

LABEL = "campaign-bench"
PAGES = ("pages/overview.py", "pages/present.py")


# --- the database ---------------------------------------------------------------------------------------


def prepare(base: Path, folder: Path, writers: int, same_round: int, scope: str = "clauses") -> tuple[Path, list[int], int | None]:
    """A copy of `base` with a new draft round (`scope`) for each of `writers` units, and one more round
    for the same-round writers; (file, the writers' rounds, the shared round)."""
    from dashboard import rounds, store
    from dashboard.access import local_admin
    from dashboard.catalog import load_catalog
    from dashboard.db import connect

    path = folder / "bench.duckdb"
    shutil.copyfile(base, path)
    admin = local_admin("Campaign Bench")
    version = load_catalog().version
    with connect(path) as con:
        names = store.list_units(con)["name"].tolist()
        needed = writers + (1 if same_round else 0)
        if len(names) < needed:
            names += [f"Bench unit {n}" for n in range(len(names), needed)]
        created = []
        for name in names[:needed]:
            made, _ = rounds.start_assessment(con, unit=name, label=LABEL, scope=scope, catalog_version=version,
                                              assessed_on=dt.date.today(), principal=admin, by="Campaign Bench")
            created.append(made.id)
    return path, created[:writers], (created[-1] if same_round else None)


def _answers(writer: int, item_ids: list[str]) -> list[tuple[str, str, Any]]:
    """What writer `writer` saves, in order: per item its level, then its evidence."""
    rng = random.Random(writer)
    out: list[tuple[str, str, Any]] = []
    for item_id in item_ids:
        out.append((item_id, "maturity", rng.randint(0, 5)))
        out.append((item_id, "evidence", f"Writer {writer}: evidence for {item_id}, register v{rng.randint(1, 99)}"))
    return out


# --- one writer -----------------------------------------------------------------------------------------


@dataclass
class Saves:
    writer: int
    latencies: list[float] = field(default_factory=list)
    waits: int = 0
    errors: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)  # saves that changed the stored value


def _items(scope: str) -> list[str]:
    from dashboard.catalog import load_catalog

    kinds = {"clauses": ("clause",), "annex_a": ("annex_a",), "both": ("clause", "annex_a")}[scope]
    return [item.id for item in load_catalog().items if item.kind in kinds]


def _write_all(path: str, writer: int, assessment_id: int, think: float, start_at: float, shuffle: bool,
               scope: str) -> Saves:
    from dashboard import store
    from dashboard.access import local_admin

    save = _save_path()
    who = local_admin(f"Writer {writer}")
    answers = _answers(writer, _items(scope))
    if shuffle:  # writers of one round: each in its own order, so that they meet on items
        pairs = [answers[i:i + 2] for i in range(0, len(answers), 2)]
        random.Random(1000 + writer).shuffle(pairs)
        answers = [a for pair in pairs for a in pair]
    result = Saves(writer)
    waited = threading.local()

    def on_wait(_: str) -> None:
        waited.flag = True

    time.sleep(max(0.0, start_at - time.time()))
    for item_id, field_name, value in answers:
        waited.flag = False
        started = time.perf_counter()
        try:
            if save(path, who, store.update_response, assessment_id, item_id, {field_name: value},
                    by=f"Writer {writer}", on_wait=on_wait):
                result.changed.append((item_id, field_name))
        except Exception as exc:  # the save failed: the answer is lost, and said so
            result.errors.append(f"{type(exc).__name__}: {str(exc)[:160]}")
            result.failed.append((item_id, field_name))
        result.latencies.append(time.perf_counter() - started)
        result.waits += bool(waited.flag)
        if think:
            time.sleep(think)
    return result


def _save_path() -> Any:
    """`dashboard.writes.run`, the questionnaire's save; in a checkout from before it existed (`--pages-root`),
    the same steps as that checkout's `ui.write`."""
    try:
        from dashboard.writes import run

        return run
    except ImportError:
        from dashboard import access
        from dashboard.db import lease

        def run(path: str, who: Any, action: Any, assessment_id: int, *args: Any, on_wait: Any = None,
                **kwargs: Any) -> Any:
            with lease(path, on_wait=on_wait) as con:
                access.authorise_write(con, who, action.__name__, [assessment_id])
                return action(con, assessment_id, *args, **kwargs)

        return run


def _process_main(args: tuple[str, int, int, float, float, bool, str], queue: Any) -> None:
    queue.put(_write_all(*args))


def run_writers(path: Path, jobs: list[tuple[int, int, bool]], think: float, mode: str,
                scope: str) -> tuple[list[Saves], float]:
    """Run one writer per (writer, assessment, shuffled) job at once; (their saves, wall seconds)."""
    start_at = time.time() + (3.0 + 0.15 * len(jobs) if mode == "processes" else 0.2)  # all start together
    results: list[Saves] = []
    if mode == "threads":
        lock = threading.Lock()

        def target(job: tuple[int, int, bool]) -> None:
            saves = _write_all(str(path), job[0], job[1], think, start_at, job[2], scope)
            with lock:
                results.append(saves)

        threads = [threading.Thread(target=target, args=(job,)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        context = mp.get_context("spawn")
        queue = context.Queue()
        processes = [context.Process(target=_process_main, args=((str(path), w, a, think, start_at, s, scope), queue))
                     for w, a, s in jobs]
        for process in processes:
            process.start()
        results = [queue.get() for _ in processes]
        for process in processes:
            process.join()
    return results, time.time() - start_at


# --- what the database holds afterwards ----------------------------------------------------------------


@dataclass
class Result:
    variant: str
    writers: int
    attempted: int
    saved: int
    lost: int
    latencies: list[float]
    waits: int
    wall: float
    errors: list[str]


def _results(saves: list[Saves], own: dict[int, int], problems: list[str], wall: float) -> list[Result]:
    """The table's rows: own rounds and the shared round, each with its attempts, latencies, waits and the answers
    `verify` found lost (its problems name the shared round's)."""
    results = []
    for variant, chosen in (("own rounds", [s for s in saves if s.writer in own]),
                            ("same round", [s for s in saves if s.writer not in own])):
        if not chosen:
            continue
        lost = sum(1 for p in problems if p.startswith("shared") == (variant == "same round"))
        attempted = sum(len(s.latencies) for s in chosen)
        results.append(Result(variant, len(chosen), attempted, attempted - lost, lost,
                              [x for s in chosen for x in s.latencies], sum(s.waits for s in chosen), wall,
                              [e for s in chosen for e in s.errors]))
    return results


def verify(path: Path, saves: list[Saves], own: dict[int, int], shared: int | None,
           scope: str) -> tuple[int, int, list[str]]:
    """(saved, lost, problems), read from the database: see the module's docstring."""
    from dashboard.db import connect

    items = _items(scope)
    saved = lost = 0
    problems: list[str] = []
    with connect(path, wait=60) as con:
        stored = {(a, i): (m, e) for a, i, m, e in con.execute(
            "SELECT assessment_id, item_id, maturity, evidence FROM response").fetchall()}
        for s in saves:
            if s.writer not in own:
                continue
            failed = set(s.failed)
            for item_id, field_name, value in _answers(s.writer, items):
                got = stored.get((own[s.writer], item_id), (None, None))[0 if field_name == "maturity" else 1]
                if (item_id, field_name) not in failed and got == value:
                    saved += 1
                else:
                    lost += 1
                    problems.append(f"writer {s.writer} {item_id} {field_name}: stored {got!r}, given {value!r}")
        if shared is not None:
            log = con.execute("""SELECT item_id, field, new_value, changed_by FROM change_log
                                 WHERE assessment_id = ? AND field IN ('maturity', 'evidence') ORDER BY id""",
                              [shared]).fetchall()
            last: dict[tuple[str, str], str] = {}
            logged: set[tuple[str, str, str, str]] = set()
            for item_id, field_name, new_value, by in log:
                last[(item_id, field_name)] = new_value
                logged.add((item_id, field_name, by, new_value))
            for s in saves:
                if s.writer in own:
                    continue
                failed, changed = set(s.failed), set(s.changed)
                for item_id, field_name, value in _answers(s.writer, items):
                    current = stored.get((shared, item_id), (None, None))[0 if field_name == "maturity" else 1]
                    # a save that changed the value is in the item's history (a save of the value already stored
                    # changes nothing and logs nothing); the stored value is the last one logged: the later wins
                    in_history = (item_id, field_name) not in changed or \
                        (item_id, field_name, f"Writer {s.writer}", str(value)) in logged
                    wins = str(current) == last.get((item_id, field_name))
                    if (item_id, field_name) not in failed and in_history and wins:
                        saved += 1
                    else:
                        lost += 1
                        problems.append(f"shared round, writer {s.writer} {item_id} {field_name}: in history {in_history}, "
                                        f"stored {current!r}, last logged {last.get((item_id, field_name))!r}")
    return saved, lost, problems


def bench(base: Path, writers: int, same_round: int, think: float, mode: str, scope: str) -> list[Result]:
    folder = Path(tempfile.mkdtemp(prefix="aims-writers-"))
    try:
        path, own_rounds, shared = prepare(base, folder, writers, same_round, scope)
        jobs = [(w, a, False) for w, a in enumerate(own_rounds)]
        jobs += [(writers + k, shared, True) for k in range(same_round)] if shared is not None else []
        saves, wall = run_writers(path, jobs, think, mode, scope)
        own = dict(enumerate(own_rounds))
        saved, _, problems = verify(path, saves, own, shared, scope)
        for line in problems[:10]:
            print("  LOST " + line, file=sys.stderr)
        results = _results(saves, own, problems, wall)
        assert sum(r.saved for r in results) == saved
        return results
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- a shared PostgreSQL server: two dashboard processes' worth of writers (`--mode server-processes`) ----------


def _start_rounds(url: str, writers: int, same_round: int, scope: str) -> tuple[list[int], int | None]:
    """On the database `url` (a copy of the organisation): `prepare`'s new draft rounds, made the same way."""
    from dashboard import rounds, store
    from dashboard.access import local_admin
    from dashboard.catalog import load_catalog
    from dashboard.db import connect

    admin = local_admin("Campaign Bench")
    with connect(url) as con:
        names = store.list_units(con)["name"].tolist()
        needed = writers + (1 if same_round else 0)
        names += [f"Bench unit {n}" for n in range(len(names), needed)]
        created = [rounds.start_assessment(con, unit=name, label=LABEL, scope=scope, catalog_version=load_catalog().version,
                                           assessed_on=dt.date.today(), principal=admin, by="Campaign Bench")[0].id
                   for name in names[:needed]]
    return created[:writers], (created[-1] if same_round else None)


def _server_process_main(args: tuple[str, list[tuple[int, int, bool]], float, str], queue: Any) -> None:
    """One dashboard process: its writers are threads, as the sessions of one Streamlit server are."""
    url, jobs, think, scope = args
    saves, _ = run_writers(url, jobs, think, "threads", scope) if jobs else ([], 0.0)  # type: ignore[arg-type]
    queue.put([vars(s) for s in saves])


def run_server_processes(url: str, jobs: list[tuple[int, int, bool]], think: float, scope: str,
                         processes: int = 2) -> tuple[list[Saves], float]:
    """The jobs dealt in turn to `processes` processes (dashboard servers) on one PostgreSQL database."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    shares = [jobs[k::processes] for k in range(processes)]
    started = time.time()
    children = [context.Process(target=_server_process_main, args=((url, share, think, scope), queue))
                for share in shares if share]
    for child in children:
        child.start()
    saves = [Saves(**fields) for _ in children for fields in queue.get()]
    for child in children:
        child.join()
    return saves, time.time() - started


class _Server:
    """The organisation copied once into a template database (`migrate-store`'s code), on `url`'s server or on a
    throwaway one (tests/pg.py); each run gets its own database made from that template."""

    def __init__(self, base: Path, url: str | None) -> None:
        from dashboard import pg
        from dashboard.store_copy import copy_store

        self.throwaway = None
        if url is None:
            from tests.pg import PgServer

            self.throwaway = PgServer().start()
            url = self.throwaway.url
        self.admin = url
        self.template = self._create(f"aims_bench_template_{os.getpid()}")
        started = time.perf_counter()
        copied = copy_store(base, self.template)
        pg.POOL.close_all()  # a template must have no connection when it is copied
        print(f"copied {base.name} into the server in {time.perf_counter() - started:.1f} s: {copied.describe()}",
              file=sys.stderr, flush=True)

    def _create(self, name: str, template: str | None = None) -> str:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.admin.rsplit("/", 1)[0] + "/" + name

    def _drop(self, url: str) -> None:
        import psycopg

        from dashboard import pg

        pg.POOL.close_all()
        with psycopg.connect(self.admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

    def copy(self, n: int) -> str:
        return self._create(f"aims_bench_{os.getpid()}_{n}", self.template.rsplit("/", 1)[1])

    def close(self) -> None:
        for url in (self.template,):
            self._drop(url)
        if self.throwaway is not None:
            self.throwaway.stop()


def bench_server(server: _Server, writers: int, same_round: int, think: float, scope: str,
                 processes: int = 2) -> list[Result]:
    """`bench` on a copy of the organisation in a PostgreSQL database, the writers split over `processes`."""
    url = server.copy(writers)
    try:
        own_rounds, shared = _start_rounds(url, writers, same_round, scope)
        jobs = [(w, a, False) for w, a in enumerate(own_rounds)]
        jobs += [(writers + k, shared, True) for k in range(same_round)] if shared is not None else []
        saves, wall = run_server_processes(url, jobs, think, scope, processes)
        own = dict(enumerate(own_rounds))
        _, _, problems = verify(url, saves, own, shared, scope)  # type: ignore[arg-type]
        for line in problems[:10]:
            print("  LOST " + line, file=sys.stderr)
        return _results(saves, own, problems, wall)
    finally:
        server._drop(url)


# --- the pages while the writers write ----------------------------------------------------------------


def watch_pages(root: Path, db: Path, until: Path, out: Path, writers: str = "") -> None:
    """Rerun the Overview and the Presentation until the file `until` exists; write 'page seconds' lines.

    `writers` ("think,scope,id,id,…"): run those writers as threads of this process, as sessions of the same
    server would be, and stop when they are done (their saves are pickled next to `out`)."""
    os.environ["AIMS_DB"] = str(db)
    sys.path.insert(0, str(root))
    from streamlit.logger import set_log_level
    from streamlit.testing.v1 import AppTest

    set_log_level("error")
    apps = {}
    for page in PAGES:
        app = AppTest.from_file(str(root / "app.py"), default_timeout=900)
        app.session_state["assessor_name"] = "Lead"
        app.run()
        app.switch_page(page).run()
        apps[page] = app
    (out.parent / "pages-ready").touch()
    if writers:
        think, scope, *ids = writers.split(",")

        def write() -> None:
            saves, _ = run_writers(db, [(w, int(a), False) for w, a in enumerate(ids)], float(think), "threads", scope)
            # plain dicts: AppTest replaces __main__, where this script's classes live
            (out.parent / "saves.pickle").write_bytes(pickle.dumps([vars(s) for s in saves]))
            until.touch()

        threading.Thread(target=write, daemon=True).start()
    with out.open("w") as lines:
        while not until.exists():
            for page, app in apps.items():
                started = time.perf_counter()
                app.run()
                lines.write(f"{page} {time.perf_counter() - started:.4f} {int(bool(app.exception))}\n")
                lines.flush()


def bench_pages(base: Path, writers: int, think: float, mode: str, root: Path, scope: str) -> dict[str, list[float]]:
    """The pages' rerun times while `writers` writers answer their rounds."""
    folder = Path(tempfile.mkdtemp(prefix="aims-pages-"))
    try:
        path, own_rounds, _ = prepare(base, folder, writers, 0, scope)
        until, out = folder / "done", folder / "pages.txt"
        inside = f"{think},{scope}," + ",".join(map(str, own_rounds)) if mode == "threads" else ""
        watcher = subprocess.Popen([sys.executable, __file__, "--watch", str(root), str(path), str(until), str(out), inside],
                                   cwd=root)
        deadline = time.time() + 600
        while not (folder / "pages-ready").exists() and time.time() < deadline and watcher.poll() is None:
            time.sleep(0.2)
        if watcher.poll() is not None:
            raise SystemExit("the page watcher exited before the writers started")
        if mode == "threads":  # the writers are sessions of the watching server
            watcher.wait(timeout=3600)
            saves = [Saves(**fields) for fields in pickle.loads((folder / "saves.pickle").read_bytes())]
        else:
            saves, _ = run_writers(path, [(w, a, False) for w, a in enumerate(own_rounds)], think, mode, scope)
            until.touch()
            watcher.wait(timeout=600)
        times: dict[str, list[float]] = {page: [] for page in PAGES}
        failed = 0
        for line in out.read_text().splitlines():
            page, seconds, error = line.split()
            times[page].append(float(seconds))
            failed += int(error)
        lost = verify(path, saves, dict(enumerate(own_rounds)), None, scope)[1]
        print(f"  pages: {sum(map(len, times.values()))} reruns ({failed} with an exception); writers lost {lost}",
              file=sys.stderr)
        return times
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- the table ---------------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    header = ["variant", "N", "answers attempted", "saved", "lost", "p50 save s", "p95 save s", "max save s",
              "lock waits", "wall s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" ---: " if i > 1 else " --- " for i in range(len(header))) + "|"]
    for r in results:
        lines.append(f"| {r.variant} | {r.writers} | {r.attempted} | {r.saved} | {r.lost} | "
                     f"{percentile(r.latencies, 50):.3f} | {percentile(r.latencies, 95):.3f} | {max(r.latencies):.3f} | "
                     f"{r.waits} | {r.wall:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=str(ROOT / "benchmarks" / "out" / "org500.duckdb"),
                        help="the database copied for each run (made with generate_org.py if missing)")
    parser.add_argument("--writers", type=int, action="append", help="N (repeatable; default 1, 5, 20, 50)")
    parser.add_argument("--same-round", type=int, default=3, help="writers answering one shared round beside them")
    parser.add_argument("--think", type=float, default=0.0, help="seconds between one writer's saves (default 0)")
    parser.add_argument("--mode", choices=("processes", "threads", "server-processes"), default="processes",
                        help="server-processes: the writers split over 2 processes (dashboard servers) as threads, "
                             "on a PostgreSQL database (--url, else a throwaway server)")
    parser.add_argument("--url", help="server-processes: a PostgreSQL database URL whose user may CREATE DATABASE")
    parser.add_argument("--scope", choices=("clauses", "annex_a", "both"), default="clauses",
                        help="what each round covers (default clauses: 32 items, 64 saves per writer)")
    parser.add_argument("--pages", action="store_true", help="time the Overview and Presentation during the writes")
    parser.add_argument("--pages-root", default=str(ROOT), help="the checkout whose pages are timed")
    parser.add_argument("--watch", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.watch:
        root, db, until, out, writers = args.watch
        watch_pages(Path(root), Path(db), Path(until), Path(out), writers)
        return 0
    base = Path(args.db)
    if not base.exists():
        from benchmarks.generate_org import generate

        print(f"generating {base} (500 units x 8 rounds)…", file=sys.stderr)
        generate(base, 500, 8)
    counts = args.writers or [1, 5, 20, 50]
    print(f"{args.mode}, scope {args.scope}, think {args.think:g} s, {os.cpu_count()} CPUs, AIMS_LOCK_WAIT_SECONDS "
          f"{os.environ.get('AIMS_LOCK_WAIT_SECONDS', '30 (default)')}, database {base.name}", flush=True)
    if args.pages:
        rows = ["| writers | page | reruns | p50 s | p95 s | max s |", "| ---: | --- | ---: | ---: | ---: | ---: |"]
        for n in counts:
            times = bench_pages(base, n, args.think, args.mode, Path(args.pages_root), args.scope)
            for page, seconds in times.items():
                rows.append(f"| {n} | {page} | {len(seconds)} | {percentile(seconds, 50):.3f} | "
                            f"{percentile(seconds, 95):.3f} | {max(seconds, default=float('nan')):.3f} |")
            print(rows[-2] + "\n" + rows[-1], file=sys.stderr, flush=True)
        print("\n".join(rows))
        return 0
    results: list[Result] = []
    server = _Server(base, args.url) if args.mode == "server-processes" else None
    for n in counts:
        found = bench_server(server, n, args.same_round, args.think, args.scope) if server else \
            bench(base, n, args.same_round, args.think, args.mode, args.scope)
        results += found
        print(table(found).splitlines()[-1] + (f"\n{table(found).splitlines()[-2]}" if len(found) > 1 else ""),
              file=sys.stderr, flush=True)
        for r in found:
            for error in sorted(set(r.errors))[:3]:
                print(f"  error ({r.variant}, N={r.writers}): {error}", file=sys.stderr)
    if server is not None:
        server.close()
    print(table(results))
    print(f"median save over every run: {statistics.median(x for r in results for x in r.latencies):.3f} s")
    return 1 if any(r.lost for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
