"""The one shape every figure in bench/results.json has."""

from __future__ import annotations


def figure(value: float, unit: str, baseline: float, **extra) -> dict:
    """`value` and its `baseline`, measured in the same run; the ratio is the figure to compare."""
    return {
        "value": round(value, 4),
        "unit": unit,
        "baseline": round(baseline, 4),
        "ratio": round(value / baseline, 4) if baseline else None,
        **extra,
    }
