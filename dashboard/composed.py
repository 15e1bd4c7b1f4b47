"""Frames composed of per-unit parts, as `versions.by_unit` builds them: each part kept as its column arrays
(`Columns`), joined with one concatenation per column, and the last composition of each read remembered
(`Composition`) so that when a few units' parts change the new frame is the old one with their rows spliced in.

Pure data handling (numpy, pandas, pyarrow): which parts are fresh is `dashboard.versions`' business.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["LIMIT", "Columns", "Composition", "forget", "recall", "remember"]

LIMIT = 64  # compositions remembered (one per read and selection; ~13,000 rows for a plan of 500 units)


@dataclass
class Composition:
    """A composed read: each unit's part key (in the units' order), the frames, and where each unit's rows start."""

    keys: dict[int, tuple[Any, ...]]
    frames: tuple[pd.DataFrame, ...]
    starts: list[np.ndarray]
    _columns: dict[int, Columns] = field(default_factory=dict)

    def spliced(self, n: int, new: Sequence[Columns | None]) -> list[Columns]:
        """Frame `n` as pieces: runs of unchanged units' rows sliced from it, and the new parts (`new[i]`, None for
        a unit unchanged) between them."""
        pieces: list[Columns] = []
        run_from = 0
        starts = self.starts[n]
        whole = self._columns.get(n)
        if whole is None:  # the frame's column arrays, taken once however many runs are sliced from it
            whole = self._columns[n] = Columns(self.frames[n])
        for i, part in enumerate(new):
            if part is None:
                continue
            if run_from < i:
                pieces.append(whole.slice(int(starts[run_from]), int(starts[i])))
            pieces.append(part)
            run_from = i + 1
        if run_from < len(new):
            pieces.append(whole.slice(int(starts[run_from]), int(starts[len(new)])))
        return pieces


_composed: OrderedDict[tuple[Any, ...], Composition] = OrderedDict()
_lock = threading.Lock()


def recall(family: tuple[Any, ...]) -> Composition | None:
    """The last composition of this read and selection (`family`), if remembered."""
    with _lock:
        return _composed.get(family)


def remember(family: tuple[Any, ...], composition: Composition) -> None:
    """Keep `composition` as the last of its family; the least recently kept beyond `LIMIT` are dropped."""
    with _lock:
        _composed[family] = composition
        _composed.move_to_end(family)
        while len(_composed) > LIMIT:
            _composed.popitem(last=False)


def forget() -> None:
    """Drop every remembered composition."""
    with _lock:
        _composed.clear()


class Columns:
    """A part of a frame kept as its column arrays: composing 500 units' parts is one concatenation per column
    (pandas.concat of 500 frames costs ~20 times as much). A column of a numpy type is kept as its ndarray (joined
    by numpy.concatenate), any other as its pandas array; each with a key of its type, compared cheaply (comparing
    500 pandas dtypes per column cost more than joining the arrays)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.names = list(frame.columns)
        self.arrays = [frame[c].to_numpy() if isinstance(frame[c].dtype, np.dtype) else frame[c].array
                       for c in self.names]
        self.kinds = [a.dtype.str if isinstance(a, np.ndarray) else repr(a.dtype) for a in self.arrays]

    def slice(self, start: int, stop: int) -> Columns:
        """Rows `start` to `stop`, as views of these arrays."""
        out = Columns.__new__(Columns)
        out.names, out.kinds = self.names, self.kinds
        out.arrays = [a[start:stop] for a in self.arrays]
        return out

    def __len__(self) -> int:
        return len(self.arrays[0]) if self.arrays else 0

    @staticmethod
    def stack(parts: Sequence[Columns]) -> pd.DataFrame:
        data = {}
        for n, name in enumerate(parts[0].names):
            data[name] = Columns._concat([p.arrays[n] for p in parts], [p.kinds[n] for p in parts])
        return pd.DataFrame(data, columns=parts[0].names)

    @staticmethod
    def _join(arrays: Sequence[Any]) -> Any:
        """Arrays of one type joined, as a pandas array of that type (an ndarray of objects is not inferred again)."""
        if isinstance(arrays[0], np.ndarray):
            return pd.array(np.concatenate(arrays), dtype=arrays[0].dtype, copy=False)
        joined = type(arrays[0])._concat_same_type(arrays)
        if isinstance(joined, pd.arrays.ArrowStringArray) and joined._pa_array.num_chunks > 1:
            # one chunk, not one per part: 500 chunks made every later read of the column (and each splice) slower
            joined = type(joined)(pa.chunked_array([joined._pa_array.combine_chunks()]), dtype=joined.dtype)
        return joined

    @staticmethod
    def _concat(arrays: Sequence[Any], kinds: Sequence[str]) -> Any:
        if kinds.count(kinds[0]) == len(kinds):
            return Columns._join(arrays)
        # a column typed differently in some parts (e.g. all empty in one): one concatenation per type (and per
        # empty / all-missing, which pandas weighs apart when it finds the common type), pandas finds the common type
        # of those few, and the rows are put back in the parts' order (a Series for each of 500 parts, or a cast of
        # each, cost a second)
        groups: dict[tuple[str, bool, bool], list[int]] = {}
        for n, (kind, a) in enumerate(zip(kinds, arrays, strict=True)):
            groups.setdefault((kind, len(a) == 0, bool(pd.isna(a).all())), []).append(n)
        combined = pd.concat([pd.Series(Columns._join([arrays[n] for n in same])) for same in groups.values()],
                             ignore_index=True).array
        lengths = np.array([len(a) for a in arrays], dtype=np.int64)
        joined = np.concatenate([np.array(same, dtype=np.int64) for same in groups.values()])  # parts as combined
        first_row = np.empty(len(arrays), dtype=np.int64)
        first_row[joined] = np.cumsum(lengths[joined]) - lengths[joined]  # where each part's rows are in `combined`
        shift = first_row - (np.cumsum(lengths) - lengths)  # ... and where they go
        return combined.take(np.arange(int(lengths.sum())) + np.repeat(shift, lengths))
