"""Figures cannot drift: every marked figure of the README and docs/ equals its results file
to the digits shown (``docs/figures.py``), the README's results and benchmark tables have no
figure without a marker except the rows listed below as not yet sourced, no table of any page
has one except the tables and rows listed as exempt, and the benchmark tables that
``make bench`` writes are what it writes from the committed JSON."""

from __future__ import annotations

import doctest
import importlib.util
import json
import sys
import warnings
from pathlib import Path

import pytest

from benchmarks import report

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_spec = importlib.util.spec_from_file_location("figures", DOCS / "figures.py")
figures = importlib.util.module_from_spec(_spec)
sys.modules["figures"] = figures  # NamedTuple and doctest look the module up by name
_spec.loader.exec_module(figures)

PAGES = [ROOT / "README.md", *figures.markdown_files([str(DOCS)])]

#: the README tables whose every number must carry a marker (by the heading above them)
README_TABLES = ("## Experiments", "## Benchmarks")

#: README rows (first cell) whose figures have no committed results file yet, with the
#: command that would write one (docs/running_experiments.md, "Publishing a result") and how
#: long the run took when its figures were measured (idle 2-core machine; about twice that
#: while the machine is shared). A row that gets its markers must leave this list (the test
#: says so).
NOT_YET_SOURCED: dict[str, str] = {}


#: Blocks of a page that a command writes whole, checked by a test of their own
#: (``test_benchmark_tables_are_what_make_bench_writes``): (page, start line, end line).
GENERATED = [("docs/benchmarks.md", report.README_START, report.README_END)]


#: Tables (by their header row) and rows (by their first cell, in the page's other tables)
#: of docs/ whose figures have no results file, with why and the command that would write
#: one. An entry whose figures get markers must leave (the test says so); what remains is
#: listed in every run's warnings.
EXEMPT: dict[tuple[str, str], str] = {
}  # fmt: skip


def test_module_examples():
    assert doctest.testmod(figures).failed == 0


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_marked_figures_equal_their_files(page):
    problems = [f.problem for f in figures.check_file(page) if f.problem]
    assert not problems, "\n".join(problems)


def test_readme_results_tables_have_no_figure_without_a_source():
    text = (ROOT / "README.md").read_text()
    rows = [row for heading in README_TABLES for row in figures.unmarked(text, heading)]
    unsourced = [f"README.md:{line}: {first!r}: {figs}" for line, first, figs in rows
                 if first not in NOT_YET_SOURCED]  # fmt: skip
    assert not unsourced, (
        "these README figures have no marker (<!--fig FILE:KEY--> after the row, see "
        "docs/figures.py); publish the run that made them (--publish) and mark them:\n"
        + "\n".join(unsourced)
    )
    sourced_now = set(NOT_YET_SOURCED) - {first for _, first, _ in rows}
    assert not sourced_now, f"remove from NOT_YET_SOURCED, their figures are marked: {sourced_now}"
    if NOT_YET_SOURCED:
        warnings.warn(  # the gap, in every run's warnings summary
            f"{len(NOT_YET_SOURCED)} README results rows have no results file yet: "
            + "; ".join(f"{row} ({how})" for row, how in NOT_YET_SOURCED.items()),
            stacklevel=1,
        )


def _generated_lines(name: str, text: str) -> set[int]:
    lines, out = text.splitlines(), set()
    for page, start, end in GENERATED:
        if page == name:
            a, b = lines.index(start), lines.index(end)
            out |= set(range(a + 1, b + 2))
    return out


def test_every_table_has_no_figure_without_a_source():
    """Every table of the README and docs/ (outside the blocks ``make bench`` writes): each
    figure has a marker, or the table is a copy of a results table, or EXEMPT lists it."""
    unsourced, used = [], set()
    for page in PAGES:
        name, text = str(page.relative_to(ROOT)), page.read_text()
        generated = _generated_lines(name, text)
        for table in figures.tables(text):
            if table.line in generated:
                continue
            if (name, table.header) in EXEMPT:
                used |= {(name, table.header)} if table.unmarked else set()
                continue
            for line, first, figs in table.unmarked:
                if (name, first) in EXEMPT:
                    used.add((name, first))
                else:
                    unsourced.append(f"{name}:{line}: {first!r}: {figs}")
    assert not unsourced, (
        "these table rows have figures without a marker (<!--fig FILE:KEY--> after the row, "
        "see docs/figures.py; _ for a number that is a label); mark them against the results "
        "file the command writes, or list them in EXEMPT with the command that would:\n"
        + "\n".join(unsourced)
    )
    sourced_now = set(EXEMPT) - used
    assert not sourced_now, f"remove from EXEMPT, no unmarked figure is left there: {sourced_now}"
    if EXEMPT:
        warnings.warn(  # the gap, in every run's warnings summary
            f"{len(EXEMPT)} docs tables or rows have figures with no results file (EXEMPT "
            "in tests/test_figures.py says why): "
            + "; ".join(f"{page} {where[:40]!r}" for page, where in EXEMPT),
            stacklevel=1,
        )


def test_benchmark_tables_are_what_make_bench_writes():
    """docs/benchmarks.md's block between the bench markers, table.md and gru_table.md are
    ``benchmarks.report.markdown`` of the committed JSON."""
    results = ROOT / "benchmarks" / "results"
    bench = report.markdown(json.loads((results / "bench.json").read_text())).strip()
    page = (DOCS / "benchmarks.md").read_text()
    start = page.index(report.README_START) + len(report.README_START)
    assert page[start : page.index(report.README_END)].strip() == bench
    assert (results / "table.md").read_text().strip() == bench
    gru = report.markdown(json.loads((results / "gru_bench.json").read_text())).strip()
    assert (results / "gru_table.md").read_text().strip() == gru


# ---- the marker syntax, on a results file of its own -------------------------------------

RESULTS = {
    "wall_s": 203.4,
    "metrics": {
        "lstm": {"dev_acc": 0.85206},
        "rnn": {"dev_acc": 0.8222},
        "rnn trained": {"d": 3.79},
    },
    "rows": [
        {"impl": "jaxrnn", "shape": "small", "ms": 6.877, "peer": 10.158},
        {"impl": "jaxrnn", "shape": "large", "ms": 271.14, "peer": 313.15},
        {"impl": "flax.linen", "shape": "small", "ms": 10.158, "err": 2.4e-7},
    ],
}


@pytest.fixture
def root(tmp_path):
    (tmp_path / "docs" / "results").mkdir(parents=True)
    (tmp_path / "docs" / "results" / "run.json").write_text(json.dumps(RESULTS))
    (tmp_path / "docs" / "results" / "table.md").write_text(
        "| shape | ms |\n|---|---|\n| small | 6.877 / 10.158 |\n| large | 271.14 |\n"
    )
    return tmp_path


def _problems(text, root):
    return [f.problem for f in figures.check_text(text, "page.md", root) if f.problem]


def test_markers_in_prose(root):
    ok = (
        "LSTM **0.852**<!--fig run:metrics.lstm.dev_acc-->, RNN 0.8222<!--fig "
        "run:metrics.rnn.dev_acc-->, in 3.4 min<!--fig run:(wall_s/60)-->; jaxrnn takes "
        "0.68-0.87x<!--fig run:rows[impl=jaxrnn,shape=*].(ms/peer)--> of the peer's time, "
        "error 2.4e-7<!--fig run:rows[flax.linen].err-->. `0.9<!--fig run:nope-->` is code. "
        "Decay 3.79<!--fig run:metrics[rnn trained].d-->.\n"
    )
    assert _problems(ok, root) == []
    assert len(figures.check_text(ok, "page.md", root)) == 6
    assert _problems("LSTM 0.842<!--fig run:metrics.lstm.dev_acc-->", root) == [
        "the page shows 0.842, the file 0.852"
    ]
    assert _problems("0.85<!--fig run:metrics.lstm.dev_acc-->", root) == []  # digits shown
    assert _problems("0.68-0.88x<!--fig run:rows[jaxrnn,*].(ms/peer)-->", root) == [
        "the page shows 0.68-0.88, the file 0.68-0.87"
    ]
    (problem,) = _problems("took 6.9<!--fig run:rows[jaxrnn].ms-->", root)
    assert "expected one matching element, got 2" in problem
    (problem,) = _problems("took 6.9<!--fig run:rows[jaxrnn,small].sec-->", root)
    assert "'sec'" in problem and "not found" in problem
    (problem,) = _problems("took 6.9 <!--fig run:rows[jaxrnn,small].ms--> ms", root)
    assert "expected a figure right before the marker" in problem  # it must touch the figure


def test_markers_in_tables(root):
    table = (
        "| shape | jaxrnn | peer |\n|---|---|---|\n"
        "| small (1, 1000, 128) | 6.9 / 10.2 | `x=1` |<!--fig run:rows[jaxrnn,small].{ms,peer}-->\n"
        "| large, T=50 | 271.1<!--fig run:rows[jaxrnn,large].ms--> | 313<!--fig run:rows[jaxrnn,large].peer--> |\n"
        "| B=16 | 16 | 271.1 |<!--fig _ run:rows[jaxrnn,large].ms-->\n"
    )
    assert _problems(table, root) == []
    assert len(figures.check_text(table, "page.md", root)) == 5
    header = "| shape | jaxrnn | peer |"
    assert figures.unmarked(table, header) == []
    assert figures.unmarked(table.replace("<!--fig _", "<!-- _"), header) == [
        (5, "B=16", ["16", "271.1"])
    ]
    (problem,) = _problems("| a | 6.9 / 10.2 |<!--fig run:rows[jaxrnn,small].ms-->\n", root)
    assert "the marker has 1 key(s) for 2 figure(s) ['6.9', '10.2']" in problem


def test_unmarked_rows(root):
    text = "## R\n\n| run | result |\n|---|---|\n| a | 0.85<!--fig run:metrics.lstm.dev_acc--> |\n| b, T=5 | 0.82 / 0.83 (3 s) |\n"
    assert figures.unmarked(text, "## R") == [(6, "b, T=5", ["0.82", "0.83"])]


def test_table_copied_from_a_results_table(root):
    page = "<!--fig table.md-->\n| shape | ms |\n|---|---|\n| small | 6.88 / 10.2 |\n| large | 271.1 |\n"
    assert _problems(page, root) == []
    wrong = page.replace("271.1", "271.2")
    assert _problems(wrong, root) == ["row 'large' differs from docs/results/table.md"]
    assert _problems(page + "| huge | 1 |\n", root) == ["no row 'huge' in docs/results/table.md"]
