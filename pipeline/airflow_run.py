"""Run ``fusion_daily`` through real Airflow: ``airflow dags test`` or the UI.

    python -m pipeline.airflow_run [--ds D]     # one DAG run, then the summary
    python -m pipeline.airflow_run --standalone # airflow standalone on :8080
    python -m pipeline.airflow_run --celery     # the same on the CeleryExecutor
    python -m pipeline.airflow_run --celery --celery-workers 2  # two workers

Uses ``AIRFLOW_HOME`` (default ``.airflow/`` in the repo, SQLite metadata DB
there, apart from the pipeline's own files) and the repo's ``dags/`` folder.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pipeline import io
from pipeline.report import format_summary
from pipeline.settings import Settings

REPO = Path(__file__).resolve().parent.parent
POOL = (
    "duckdb_writer",
    "1",
    "FusionLoop: one task at a time writes the DuckDB warehouse",
)


def airflow_env() -> dict:
    """The environment the ``airflow`` CLI runs with."""
    env = dict(os.environ)
    # `airflow standalone` starts its parts as `airflow ...` found on PATH.
    env["PATH"] = os.pathsep.join(
        [str(Path(sys.executable).parent), env.get("PATH", "")]
    )
    env.setdefault("AIRFLOW_HOME", str(REPO / ".airflow"))
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.setdefault("GX_ANALYTICS_ENABLED", "False")
    # LocalExecutor starts a worker process (~150 MB) per parallel slot; the
    # default of 32 is for bigger machines than the 2-core one we size for.
    env.setdefault("AIRFLOW__CORE__PARALLELISM", "4")
    return env


def airflow(*args: str, log: Path | None = None) -> None:
    """Run ``airflow <args>`` from the venv; on failure show the log's tail and exit."""
    cmd = [str(Path(sys.executable).parent / "airflow"), *args]
    if log is None:
        subprocess.run(cmd, env=airflow_env(), check=True, stdout=subprocess.DEVNULL)
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        code = subprocess.run(
            cmd, env=airflow_env(), stdout=out, stderr=subprocess.STDOUT
        ).returncode
    if code:
        tail = log.read_text().splitlines()[-60:]
        sys.exit(
            "\n".join(tail) + f"\n\n`airflow {' '.join(args)}` failed; full log: {log}"
        )


def prepare() -> None:
    """Migrate the metadata DB (idempotent) and create the DuckDB writer pool."""
    airflow("db", "migrate")
    airflow("pools", "set", *POOL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ds", help="run date (default: the demo market's last day)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--standalone", action="store_true", help="start the Airflow UI")
    mode.add_argument(
        "--celery",
        action="store_true",
        help="start the Airflow UI with a Celery worker (PostgreSQL metadata DB)",
    )
    parser.add_argument(
        "--celery-workers",
        type=int,
        default=1,
        metavar="N",
        help="with --celery: start N workers (default 1), the tasks a worker "
        "runs at once split between them",
    )
    args = parser.parse_args(argv)
    if args.celery_workers < 1 or (args.celery_workers > 1 and not args.celery):
        parser.error("--celery-workers N takes N >= 1, and only with --celery")
    settings = Settings.load()
    if args.celery:  # fails before migrating
        env = airflow_env() | celery_env(airflow_env(), args.celery_workers)
        require_celery_provider()
    prepare()
    if args.standalone:
        return standalone(settings)
    if args.celery:
        queue = env.get("AIRFLOW__OPERATORS__DEFAULT_QUEUE", "default")
        create_broker_queue(env["AIRFLOW__CELERY__BROKER_URL"], queue)
        return celery(env, celery_commands(args.celery_workers))
    ds = args.ds or io.read_json(settings.sim_dir / "market.json")["last_day"]
    start = time.perf_counter()
    airflow(
        "dags",
        "test",
        "fusion_daily",
        ds,
        log=settings.fusion_home / "logs" / f"airflow_dags_test_{ds}.log",
    )
    print(format_summary(io.read_json(settings.out_dir(ds) / "run_report.json")))
    print(
        f"\nairflow dags test fusion_daily {ds}: {time.perf_counter() - start:.0f} s; "
        f"log in {settings.fusion_home / 'logs'}"
    )
    return 0


def standalone(settings: Settings) -> int:
    """Start ``airflow standalone`` and say where the UI and the password are."""
    home = Path(airflow_env()["AIRFLOW_HOME"])
    port = os.environ.get("AIRFLOW__API__PORT", "8080")
    last = io.read_json(settings.sim_dir / "market.json")["last_day"]
    print(
        f"Airflow UI: http://localhost:{port}  (user admin; password in "
        f"{home / 'simple_auth_manager_passwords.json.generated'})\n"
        f"Open DAG fusion_daily, 'Trigger' with run_date = {last} (the demo market's "
        "last day). Ctrl-C stops Airflow.\n",
        flush=True,
    )
    cmd = [str(Path(sys.executable).parent / "airflow"), "standalone"]
    process = subprocess.Popen(cmd, env=airflow_env())
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            # Ctrl-C reached `airflow standalone` too: let it stop its parts
            # (scheduler, DAG processor, ...) instead of killing it mid-way.
            continue


# What a CeleryExecutor deployment runs (docs/scale-out.md, step 3), each part
# on its own machine there; `--celery` starts them side by side on this one.
CELERY_PARTS = (
    ("api-server",),
    ("scheduler",),
    ("dag-processor",),
    ("celery", "worker"),
)


def celery_commands(workers: int = 1) -> list[list[str]]:
    """The command of each part in ``CELERY_PARTS``, with ``workers`` Celery
    workers: each named ``worker<i>@<host>`` (Celery's node name, which must
    differ between workers on one machine), the first serving the task logs
    for all of them (they write the same log folder here)."""
    airflow_bin = str(Path(sys.executable).parent / "airflow")
    commands = [[airflow_bin, *p] for p in CELERY_PARTS if p != ("celery", "worker")]
    for i in range(workers):
        worker = [airflow_bin, "celery", "worker", "--celery-hostname", f"worker{i}@%h"]
        commands.append(worker + (["--skip-serve-logs"] if i else []))
    return commands


def celery_env(env: dict, workers: int = 1) -> dict:
    """The CeleryExecutor's settings to add to ``env`` (the environment).

    Celery needs a metadata DB many processes write at once, so PostgreSQL.
    The broker and the result backend default to that same database (kombu's
    SQLAlchemy transport; Celery's database result backend), which needs no
    other server: a deployment sets ``AIRFLOW__CELERY__BROKER_URL`` to its
    Redis or RabbitMQ, which Celery recommends over a database broker.
    ``workers``: the tasks a worker runs at once default to the LocalExecutor's
    slots split between them.
    """
    url = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    if not url.startswith("postgresql"):
        raise SystemExit(
            "--celery needs a PostgreSQL metadata database in the environment "
            "variable AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg://"
            f"user@host/db (it is {url or 'unset'}; the broker is derived from it; "
            "see docs/scale-out.md)"
        )
    slots = env["AIRFLOW__CORE__PARALLELISM"]
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": env.get("AIRFLOW__CELERY__BROKER_URL")
        or f"sqla+{url}",
        # tasks a worker runs at once: the LocalExecutor's slots, split
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": env.get(
            "AIRFLOW__CELERY__WORKER_CONCURRENCY", _split(slots, workers)
        ),
    }


def _split(slots: str, workers: int) -> str:
    """``slots`` shared by ``workers``, each at least one (0 stays Celery's
    own default, a slot per CPU)."""
    return str(max(1, int(slots) // workers)) if int(slots) else slots


def create_broker_queue(broker_url: str, queue: str) -> None:
    """Create a database broker's tables and the workers' queue (kombu's
    SQLAlchemy transport) before the workers start: each worker creates them
    on first use, and two doing so at once collide in PostgreSQL (the table's
    ``queue_id_sequence`` or the queue's row already exists) and one exits.
    A Redis or RabbitMQ broker needs nothing. ``queue``: Airflow's default
    queue, read from the environment only (this process does not import
    Airflow), so a ``default_queue`` set in ``airflow.cfg`` alone is not the
    one created here."""
    if not broker_url.startswith("sqla+"):
        return
    from kombu import Connection, Queue

    with Connection(broker_url) as connection:
        Queue(queue, channel=connection.default_channel).declare()


def require_celery_provider() -> None:
    """Exit with the make target to run when Airflow's Celery provider is missing
    (``make install`` leaves it out; ``make celery-install`` adds it). Asks the
    installed distributions, so this process never imports Airflow."""
    try:
        importlib.metadata.version("apache-airflow-providers-celery")
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit(
            "--celery needs Airflow's Celery provider: make celery-install"
        ) from None


STOP_S = 60  # a Celery worker's warm shutdown waits for its running tasks


def celery(env: dict, commands: list[list[str]] | None = None) -> int:
    """Run the CeleryExecutor's parts (``celery_commands()``, or ``commands``)
    until one of them stops, or Ctrl-C or SIGTERM stops them all.

    Each part runs in a process group of its own, so what it started (a
    worker's task processes) is stopped with it: SIGTERM to the part, then
    after ``STOP_S`` SIGKILL to whatever is left of its group. Returns 0 when
    stopped by a signal; a part that stops by itself is an error, so then its
    exit status (1 if it exited 0, 128 + N if signal N killed it).
    """
    commands = commands or celery_commands()
    handlers = {
        sig: signal.signal(sig, signal.default_int_handler)
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    parts = []
    code = 0
    try:
        for command in commands:
            parts.append(subprocess.Popen(command, env=env, process_group=0))
        while all(part.poll() is None for part in parts):
            time.sleep(1)
        command, status = next(
            (c, p.returncode)
            for c, p in zip(commands, parts, strict=True)
            if p.returncode is not None
        )
        code = 128 - status if status < 0 else status or 1
        print(f"{' '.join(command)} exited ({status}); stopping the others", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        for sig in handlers:  # a second Ctrl-C does not cut the stop short
            signal.signal(sig, signal.SIG_IGN)
        _stop(parts)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    return code


def _stop(parts: list[subprocess.Popen]) -> None:
    """SIGTERM each part, wait up to ``STOP_S``, then SIGKILL each part's group."""
    for part in parts:
        if part.poll() is None:
            part.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_S
    for part in parts:
        try:
            part.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(part.pid, signal.SIGKILL)  # the part, or what it left
        except ProcessLookupError:
            pass
        part.wait()


if __name__ == "__main__":
    sys.exit(main())
