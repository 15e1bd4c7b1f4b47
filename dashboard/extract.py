"""Extractive summarising without a model: sentences ranked by how typical they are, duplicates merged.

Each answer is split into sentences; identical sentences are grouped; every group is scored by the cosine
similarity of its TF-IDF vector to the centroid of all sentences (a sentence that shares the vocabulary
of many answers is typical), with a bonus for being said more than once. Going down the ranking, a
sentence too similar to one already chosen is merged into it, so each chosen sentence keeps every source
that said (nearly) the same thing.

>>> extract([("Policy approved by ExCo. Training done.", "u1"), ("Policy approved by ExCo.", "u2")], limit=1)
[('Policy approved by ExCo.', ['u1', 'u2'])]
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import TypeVar

__all__ = ["extract", "first_sentence", "sentences"]

P = TypeVar("P", bound=Hashable)

_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(])|\s*\n+\s*|\s+[–•]\s+")
_ABBREVIATION = re.compile(r"\b(?:incl|e\.g|i\.e|etc|approx|vs|cf|no|ref|fig|dept|mr|mrs|ms|dr)\.$", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*[a-z0-9]|[a-z]")
_STOP_WORDS = """a an and are as at be been but by for from has have in into is it its not of on or our so that the
their them there they this to was we were which will with without yet also all any can do does done each only per
than then these those via"""
_STOP = frozenset(_STOP_WORDS.split())
SIMILAR = 0.5  # Jaccard similarity of word sets above which two sentences say the same thing


def sentences(text: str) -> list[str]:
    """The sentences of an answer, trimmed, without empty pieces ("incl." and "e.g." do not end one)."""
    out: list[str] = []
    for piece in _SPLIT.split(text.strip()):
        piece = " ".join(piece.split()).strip(" -–•")
        if not piece:
            continue
        if out and _ABBREVIATION.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def first_sentence(text: str, limit: int = 160) -> str:
    found = sentences(text)
    first = found[0] if found else ""
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _words(sentence: str) -> list[str]:
    return [w for w in _WORD.findall(sentence.lower()) if w not in _STOP]


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def extract(answers: Sequence[tuple[str, P]], limit: int = 8) -> list[tuple[str, list[P]]]:
    """Up to `limit` (sentence, payloads) pairs, most typical first; payloads are the answers' own tags."""
    groups: dict[tuple[str, ...], tuple[str, list[P]]] = {}
    for text, payload in answers:
        for sentence in sentences(text):
            words = _words(sentence)
            if not words:
                continue
            key = tuple(words)
            if key not in groups:
                groups[key] = (sentence, [])
            if payload not in groups[key][1]:
                groups[key][1].append(payload)
    if not groups:
        return []
    document_frequency = Counter(w for key in groups for w in set(key))
    total = len(groups)
    idf = {w: math.log((1 + total) / (1 + df)) + 1.0 for w, df in document_frequency.items()}
    vectors: dict[tuple[str, ...], dict[str, float]] = {}
    centroid: Counter[str] = Counter()
    for key in groups:
        counts = Counter(key)
        vector = {w: c * idf[w] for w, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vector.values()))
        vectors[key] = {w: v / norm for w, v in vector.items()}
        for w, v in vectors[key].items():
            centroid[w] += v * len(groups[key][1])
    centroid_norm = math.sqrt(sum(v * v for v in centroid.values())) or 1.0

    def score(key: tuple[str, ...]) -> float:
        typical = sum(v * centroid[w] for w, v in vectors[key].items()) / centroid_norm
        return typical * (1.0 + 0.3 * math.log(len(groups[key][1]))) * min(1.0, len(key) / 4)

    ranked = sorted(groups, key=lambda k: (-score(k), groups[k][0]))
    chosen: list[tuple[frozenset[str], str, list[P]]] = []
    for key in ranked:
        words, (sentence, payloads) = frozenset(key), groups[key]
        twin = next((c for c in chosen if _jaccard(c[0], words) >= SIMILAR), None)
        if twin is not None:
            twin[2].extend(p for p in payloads if p not in twin[2])
        elif len(chosen) < limit:
            chosen.append((words, sentence, list(payloads)))
    return [(sentence, payloads) for _, sentence, payloads in chosen]
