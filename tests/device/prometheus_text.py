"""A small, strict reader of the Prometheus text exposition format 0.0.4, for the metrics tests.

Checks what a scraper would reject or misread: samples of a family without ``# TYPE`` first, a family
declared twice, bad names, unescaped label values, non-numeric values, and histograms whose buckets are not
cumulative or whose ``+Inf`` bucket differs from ``_count``.
"""

from __future__ import annotations

import math
import re

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
_SAMPLE = re.compile(rf"^(?P<name>{_NAME})(?:\{{(?P<labels>{_LABEL}(?:,{_LABEL})*)?\}})? (?P<value>\S+)$")
_LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"')
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def _family_of(name: str, types: dict[str, str]) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        base = name.removesuffix(suffix)
        if base != name and types.get(base) in ("histogram", "summary"):
            return base
    return name


def parse(text: str) -> tuple[dict[str, str], Samples]:
    """``(types, samples)``; raises AssertionError on anything a strict scraper would not accept."""
    assert text.endswith("\n"), "exposition must end with a newline"
    types: dict[str, str] = {}
    samples: Samples = {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("# TYPE "):
            name, kind = line[7:].split(" ")
            assert re.fullmatch(_NAME, name) and kind in _TYPES, f"line {number}: {line!r}"
            assert name not in types, f"line {number}: {name} declared twice"
            types[name] = kind
            continue
        if line.startswith("#"):
            assert line.startswith("# HELP ") or not line.startswith("# TYPE"), line
            continue
        match = _SAMPLE.match(line)
        assert match, f"line {number}: not a sample: {line!r}"
        name = match["name"]
        family = _family_of(name, types)
        assert family in types, f"line {number}: {name} has no # TYPE before it"
        labels = tuple((k, _unescape(v)) for k, v in _LABEL_PAIR.findall(match["labels"] or ""))
        value = float(match["value"])  # ValueError: not a number
        assert not math.isnan(value), f"line {number}: NaN"
        key = (name, labels)
        assert key not in samples, f"line {number}: duplicate sample {key}"
        samples[key] = value
    for family, kind in types.items():
        if kind == "histogram":
            _check_histogram(family, samples)
    return types, samples


def _check_histogram(family: str, samples: Samples) -> None:
    buckets = sorted(
        (float(dict(labels)["le"]), value)
        for (name, labels), value in samples.items()
        if name == family + "_bucket"
    )
    assert buckets and buckets[-1][0] == math.inf, f"{family}: no +Inf bucket"
    counts = [value for _, value in buckets]
    assert counts == sorted(counts), f"{family}: buckets are not cumulative"
    assert samples[(family + "_count", ())] == buckets[-1][1], f"{family}: +Inf bucket != _count"
    assert (family + "_sum", ()) in samples, f"{family}: no _sum"


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when absent, as a scraper would treat a counter not yet exposed)."""
    return samples.get((name, tuple(labels.items())), 0.0)
