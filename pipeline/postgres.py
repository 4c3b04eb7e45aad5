"""A throw-away PostgreSQL server: for tests and benchmarks, never production.

``throwaway()`` runs Debian's server binaries (``make system-deps`` installs
postgresql-15 where they are missing) as the ``postgres`` user when run as
root (initdb refuses root), in a temporary folder, on a free loopback port,
with trust authentication: no password exists to leak. The server is stopped
and its folder removed when the block ends. The write-back tests use it as
the marketing database, the Airflow server tests and the backfill benchmark
as Airflow's metadata database (Airflow refuses backfills on SQLite while
its scheduler is busy).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


class PostgresError(RuntimeError):
    """The server could not be found, set up or started; says how to fix it."""


def server_bin() -> str:
    """The folder of Debian's PostgreSQL server binaries (newest version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise PostgresError(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb);"
            " install them with `make system-deps` (apt-get install postgresql-15)"
        )
    return os.path.dirname(found[-1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(args: list[str]) -> None:
    """Run a server command (as ``postgres`` when root); raise with its output."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode:
        raise PostgresError(f"{' '.join(args)} failed:\n{done.stderr}{done.stdout}")


@contextmanager
def throwaway() -> Iterator[str]:
    """SQLAlchemy URL (psycopg 3) of a fresh server, stopped when the block ends."""
    bindir = server_bin()
    folder = tempfile.mkdtemp(prefix="fusion-pg-")
    data, port = os.path.join(folder, "data"), _free_port()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    ctl = [f"{bindir}/pg_ctl", "-D", data, "-l", f"{folder}/log", "-w"]
    try:
        _as_server_user([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "fusion"])
        _as_server_user([*ctl, "-o", options, "start"])
        try:
            yield f"postgresql+psycopg://fusion@127.0.0.1:{port}/postgres"
        finally:
            _as_server_user([*ctl, "-m", "immediate", "stop"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
