"""Every write the dashboard makes, in one function without Streamlit: a leased connection, the principal's
right to make it (`access.authorise_write`), the store's action.

`ui.write` (the questionnaire's save, the roadmap, imports, rounds) calls it with the person of the browser
session; benchmarks/concurrent_writers.py calls it from many processes at once, so what it measures is the
dashboard's own save path.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from dashboard import access
from dashboard.access import Principal
from dashboard.db import lease

__all__ = ["assessment_ids", "run", "takes_principal"]


@functools.lru_cache(maxsize=512)
def takes_principal(function: Callable[..., Any]) -> bool:
    try:
        return "principal" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def assessment_ids(action: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[int]:
    """The assessments a write touches, for `access.authorise_write`: an id as first argument, an interview's,
    or the roadmap rows' assessment column."""
    first = args[0] if args else kwargs.get("assessment_id")
    if isinstance(first, int):
        return [first]
    if isinstance(first, pd.DataFrame):
        return sorted({int(i) for i in first["assessment_id"].dropna()}) if "assessment_id" in first.columns else []
    if hasattr(first, "assessment_id"):  # an interview state
        return [int(first.assessment_id)]
    return []


def run(path: str, who: Principal, action: Callable[..., Any], *args: Any,
        on_wait: Callable[[str], None] | None = None, **kwargs: Any) -> Any:
    """Run `action(con, *args, **kwargs)` on a leased connection to `path`, if `who` may (AccessDenied
    otherwise). `on_wait` hears when another process holds the file and the write waits for it."""
    if takes_principal(action):
        kwargs.setdefault("principal", who)
    with lease(path, on_wait=on_wait) as con:
        if getattr(action, "__module__", "") != access.__name__:  # access's own checks and grants check themselves
            access.authorise_write(con, who, action.__name__, assessment_ids(action, args, kwargs))
        return action(con, *args, **kwargs)
