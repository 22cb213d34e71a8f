"""benchmarks.min_blocked: the candidate block sizes, the output check, the harness."""

from __future__ import annotations

from benchmarks import min_blocked
from jaxrnn._src.linear import block_steps


def test_candidates_are_divisors_and_include_the_chosen_block():
    for T, n in [(2000, 16), (100_000, 1), (200, 32), (1999, 16)]:
        ks = min_blocked.candidates(T, n)
        assert block_steps(T, n) in ks
        assert all(T % k == 0 for k in ks)
    assert len(min_blocked.candidates(2000, 16)) > 2


def test_bench_times_every_variant_and_rejects_unknown_shapes(capsys):
    for cell in min_blocked.CELLS:
        ms = min_blocked.bench(cell, (2, 12, 4), budget_s=0.0)
        assert "unblocked" in ms and any(k.endswith("*") for k in ms)
        assert all(v > 0 for v in ms.values())
    assert min_blocked.main(["huge"]) == 2
    assert "expected shapes from" in capsys.readouterr().err
