"""``python -m benchmarks slip_render --quick --json`` still runs and reports its figures (speed goals are not
asserted here, see docs/benchmarks.md; the size goal is a property of the output, so it is)."""
from __future__ import annotations

import pytest

from tests.workstation.test_benchmarks_ws_smoke import run_benchmark

pytestmark = pytest.mark.db_independent


def test_slip_render() -> None:
    out = run_benchmark("slip_render")
    for key in ("median_ms", "p95_ms", "max_ms", "batch_slips_per_s", "max_kb", "median_kb", "cold_first_ms",
                "baseline_median_ms", "ratio_to_baseline"):
        assert isinstance(out[key], (int, float)) and out[key] > 0, (key, out)
    assert out["renders_timed"] == out["variants"] * 3 and out["batch_slips"] == 40, out
    assert out["max_kb"] <= 60, out                      # every slip a small PDF: the font is a subset
    assert out["baseline_median_kb"] < out["median_kb"], out
    assert set(out["per_variant_kb"]) >= {"ordinary-1", "ordinary-5", "paediatric-1", "paediatric-5-long-diagnosis"}
    assert out["font"], out
