"""The data directory's lock: one holder at a time, the holder named, free again on release."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tinirun.datadir import DataDirInUseError, DataDirLock


def test_a_held_data_dir_cannot_be_taken_and_names_its_holder(tmp_path: Path) -> None:
    lock = DataDirLock.acquire(tmp_path / "data", "http://127.0.0.1:8082")
    with pytest.raises(DataDirInUseError) as refused:
        DataDirLock.acquire(tmp_path / "data", "http://127.0.0.1:9000")
    assert f"pid {os.getpid()} serving http://127.0.0.1:8082" in str(refused.value)
    lock.release()
    DataDirLock.acquire(tmp_path / "data", "http://127.0.0.1:9000").release()
