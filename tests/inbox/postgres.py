"""A throwaway PostgreSQL server for the tests (Debian's postgresql package): its own data
directory and port on 127.0.0.1, started and removed by the test session."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from tests.processes import free_port, stop, wait_until


def _binaries() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    assert found, "PostgreSQL is missing: make test installs Debian's postgresql"
    return os.path.dirname(found[-1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields an SQLAlchemy URL of an empty database."""
    bindir = _binaries()
    directory = tempfile.mkdtemp(prefix="maildoctor-pg-")
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(directory, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = os.path.join(directory, "data")
    subprocess.run(
        as_postgres + [f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "md", "--no-sync"], check=True, capture_output=True, timeout=120
    )
    server = subprocess.Popen(
        as_postgres
        + [f"{bindir}/postgres", "-D", data, "-p", str(port), "-k", directory, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: subprocess.run([f"{bindir}/pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True).returncode == 0,
            server,
            "PostgreSQL",
            30,
        )
        subprocess.run(
            [f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "md", "maildoctor"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield f"postgresql+psycopg://md@127.0.0.1:{port}/maildoctor"
    finally:
        stop(server, 20)
        shutil.rmtree(directory, ignore_errors=True)
