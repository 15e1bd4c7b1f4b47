"""Settings as one declarative table: name, default, help. Read from the environment at the edge."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SETTINGS", "Setting", "get", "repo_root"]


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("AIMS_DB", str(repo_root() / "data" / "aims.duckdb"),
            "Path of the DuckDB database file; created on first use."),
    Setting("AIMS_LOCK_WAIT_SECONDS", "30",
            "How long a command waits for another process (e.g. a running dashboard) to release the database file."),
    Setting("AIMS_MAX_UPLOAD_MB", "25", "Largest spreadsheet or CSV file accepted for import, in megabytes."),
    Setting("AIMS_USER", "", "Name recorded in the change log for command-line changes (defaults to the login name)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str:
    """The value of a setting: the environment if set and non-empty, else the default."""
    setting = _BY_NAME[name]
    value = os.environ.get(name, "").strip()
    return value or setting.default
