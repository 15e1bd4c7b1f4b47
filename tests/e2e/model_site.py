"""The dashboard with a model: `python -m streamlit run app.py` on a copy of the demo data, its model the local
fake server (tests/llm_server.py), for the browser tests of the AI helper's pages."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.conftest import ProxyTrap, Server
from tests.e2e.signin import dashboard

__all__ = ["dashboard_with_model", "wait_for"]


@contextmanager
def dashboard_with_model(workdir: Path, demo_database: Path, proxy_trap: ProxyTrap,
                         model_url: str) -> Iterator[tuple[Server, Path]]:
    """The dashboard on a copy of the demo data in `workdir`, asking the model at `model_url` (one attempt, a
    generous timeout: the tests' model is slow on purpose); (the server, the database)."""
    database = workdir / "demo.duckdb"
    shutil.copyfile(demo_database, database)
    env = {"AIMS_DB": str(database), "AIMS_LLM_MODEL": "openai/test-model", "AIMS_LLM_API_BASE": model_url,
           "AIMS_LLM_TIMEOUT": "120", "AIMS_LLM_RETRIES": "0"}
    with dashboard("app.py", workdir, proxy_trap, secrets_file=None, env=env) as server:
        yield server, database


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Wait until `condition()` holds; fail with `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
