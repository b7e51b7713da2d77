"""Fixtures of the store tests: a real SQLite file in a temporary data directory."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from b2bua.store import SqliteStore, open_store


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Iterator[SqliteStore]:
    opened = open_store(data_dir)
    yield opened
    opened.close()
