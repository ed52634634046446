"""A fresh database (SQLite in the test's directory) for each feedback test."""

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from maildoctor.store.database import connect, migrate


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    db = connect(str(tmp_path / "db"))
    migrate(db)
    return db
