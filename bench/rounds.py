"""Helpers for figures measured in interleaved rounds next to their baseline.

The machine is shared (2 cores, load well above 2): a figure measured in one block and its
baseline in another each catch a different moment of the neighbours' load. The sections
that use this module alternate baseline and figure (baseline, figure, baseline, figure …) in
several rounds, report the median of the per-round ratios, the spread (min–max) of the
ratios and of the raw seconds, and the load average at the start and end of the section.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from typing import Any


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded."""
    return [round(value, 2) for value in os.getloadavg()]


def span(values: Sequence[float], digits: int = 2) -> list[float] | None:
    """``[min, max]`` of ``values``, ``None`` when empty."""
    if not values:
        return None
    return [round(min(values), digits), round(max(values), digits)]


def summarize(rounds: Sequence[dict[str, Any]], *, figure: str, baseline: str) -> dict[str, Any]:
    """Per-round medians and ratio, the median ratio and the spreads.

    Args:
        rounds: One dict per round holding the lists ``figure`` and ``baseline`` (seconds).
        figure: Key of the figure's samples in each round.
        baseline: Key of the baseline's samples in each round.

    Returns:
        ``ratio`` (median of the per-round ratios), ``ratio_spread``, ``round_ratios``,
        ``<figure>_spread``, ``<baseline>_spread`` (min–max of every raw sample).
    """
    ratios = []
    for entry in rounds:
        ours, theirs = entry[figure], entry[baseline]
        if ours and theirs:
            entry["ratio"] = round(statistics.median(ours) / statistics.median(theirs), 2)
            ratios.append(entry["ratio"])
    every_ours = [s for entry in rounds for s in entry[figure]]
    every_theirs = [s for entry in rounds for s in entry[baseline]]
    return {
        "ratio": round(statistics.median(ratios), 2) if ratios else None,
        "round_ratios": ratios,
        "ratio_spread": span(ratios),
        f"{figure}_spread": span(every_ours),
        f"{baseline}_spread": span(every_theirs),
    }
