"""Check that the figures of Markdown pages equal the results files they come from.

Standard library only, like ``docs/mdtest.py``. A figure is marked with an HTML comment,
which GitHub, PyPI and Sphinx (MyST) do not show::

    LSTM accuracy **0.852**<!--fig sentiment:metrics.lstm.dev_acc-->
    3.5-5.3x<!--fig minrnn:results[*].ms.(lstm/mingru).grad-->
    | small | 6.9 / 16.0 |<!--fig bench:results[lstm,small].ms.jaxrnn.{fwd,grad}-->

and the check formats each value with the digits the page shows (``0.8521`` shown as
``0.852``, ``4.1e-4`` as a mantissa of one decimal) and compares the text.

What a marker covers:

- in prose, the one figure that ends right before it (``0.852``, ``**0.852**``, ``5.3x``,
  or a range ``3.5-5.3``, whose ends are the minimum and maximum of the values);
- in a table cell, the figures of that cell before it (after the cell's previous marker);
- after the last ``|`` of a table row, every figure of the row;
- on a line of its own before a table, naming a ``.md`` file (``<!--fig table.md-->``):
  every row of the table must be a row of that file's tables, each number to the digits
  shown.

In a cell or a row, a figure is a number outside code spans and parentheses and not glued to
a word (``T=50``, ``SST-2``, ``H200`` and ``(1, 1000, 128)`` are not figures).

A marker holds one or more keys, separated by spaces, which give the figures in order:

- ``FILE:PATH``: ``FILE`` is a stem looked up as ``docs/results/FILE.json`` (what
  ``--publish`` writes; see ``docs/running_experiments.md``), then
  ``benchmarks/results/FILE.json``, or a path from the repository root;
- ``PATH`` walks the JSON: ``a.b.c`` (a key may itself hold dots: ``ms.flax.linen.fwd``);
  ``results[lstm,small]`` is the one element of the list ``results`` that has a field equal
  to ``lstm`` and one equal to ``small`` (``[impl=torch]`` names the field; ``[0]`` is an
  index); a selector with a wildcard (``[*]``, ``[dtype=float32*]``) keeps every element that
  matches, and the figure is then a range ``lo-hi``; on an object, ``[rnn trained]`` is
  the key ``rnn trained`` (a key with spaces);
- ``{a,b}`` stands for two keys, one figure each (several braces: every combination, the
  last brace varying fastest);
- ``(a/b)`` is a ratio: the path with ``a`` over the path with ``b``, element by element;
  ``(wall_s/60)`` divides by a number, ``*`` multiplies, ``(gflop/ms*1000)`` goes left to
  right;
- ``_`` passes over one number of a row that is a label, not a figure (``| 16 | 1,000 |``).

Run it on the pages::

    python docs/figures.py README.md docs       # exit status 1 on any mismatch
    python docs/figures.py --list README.md     # every figure with its key and value

``tests/test_figures.py`` runs it under ``make test`` and checks that no table of the README
and docs/ (``tables``) has a number without a marker, except the tables and rows it lists as
exempt, with the command that would write their results file.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
RESULT_DIRS = ("docs/results", "benchmarks/results")
SKIP = "_"  # a key that covers a number which is a label, not a figure (``T = 1,000``)

MARKER = re.compile(r"<!--\s*fig\s+(?P<spec>.*?)\s*-->", re.S)
NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?"
FIGURE = re.compile(rf"(?P<lo>{NUMBER})(?:-(?P<hi>{NUMBER}))?")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
UNIT = r"(?:\*\*|\*|_)?(?:x|%| ?ms| ?s| ?min)?(?:\*\*|\*|_)?"  # what may sit between


class FigureError(ValueError):
    """A marker that cannot be read, or a key the file does not have."""


class Figure(NamedTuple):
    """One figure on a page: where, the text shown, the key and what the file gives."""

    path: str
    line: int
    text: str
    key: str
    expected: str  # the file's value(s) with the digits of ``text``
    problem: str  # empty when the page agrees with the file


# ---- the Markdown side: markers and the figures they cover -------------------------------


class Marker(NamedTuple):
    line: int
    spec: str
    scope: str  # "figure" | "cell" | "row" | "table"
    figures: list[tuple[str, str | None]]  # (lo, hi) texts; hi None for a single number
    table: list[str]  # the table's lines, for scope "table"
    error: str = ""  # why the marker cannot be read


def _blank(m: re.Match) -> str:
    return " " * len(m.group(0))


def _without_parentheses(text: str) -> str:
    """``text`` with every balanced ``( ... )`` group blanked out (nested ones too)."""
    out, depth = [], 0
    for ch in text:
        if ch == "(":
            depth += 1
        out.append(" " if depth else ch)
        if ch == ")" and depth:
            depth -= 1
    return "".join(out)


def figures_in(text: str) -> list[tuple[str, str | None]]:
    """The figures of a table cell or row: numbers outside code spans and parentheses, not
    glued to a word.

    Example:
        >>> figures_in("LSTM **0.842**, minGRU/minLSTM 0.765/0.763 (`--models`, T=50)")
        [('0.842', None), ('0.765', None), ('0.763', None)]
        >>> figures_in("| H200 | (64, 512, 1024) | 8.1 / 23.0 | 3.5-5.3x | SST-2 |")
        [('8.1', None), ('23.0', None), ('3.5', '5.3')]
    """
    text = _without_parentheses(CODE_SPAN.sub(_blank, MARKER.sub(_blank, text)))
    found = []
    for m in FIGURE.finditer(text):
        before = text[max(0, m.start() - 2) : m.start()]
        if (
            before[-1:].isalnum()
            or before[-1:] in ("_", "=", ".", ",")
            or (before[-1:] == "-" and before[:1].isalnum())
        ):
            continue
        if text[m.end() : m.end() + 1].isalpha() and text[m.end()] not in "xe":
            continue  # 2D, 3rd
        found.append((m["lo"], m["hi"]))
    return found


def _table_cells(line: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each cell's text in a table row (pipes in code spans and ``\\|``
    do not split)."""
    hidden = CODE_SPAN.sub(_blank, line).replace("\\|", "  ")
    pipes = [i for i, ch in enumerate(hidden) if ch == "|"]
    return [(a + 1, b) for a, b in itertools.pairwise(pipes)]


def _prose_figure(before: str) -> tuple[str, str | None]:
    m = re.search(rf"(?P<fig>{FIGURE.pattern}){UNIT}$", before)
    if not m:
        tail = before[-30:].lstrip()
        raise FigureError(f"expected a figure right before the marker, got ...{tail!r}")
    return m["lo"], m["hi"]


def markers(text: str) -> Iterator[Marker]:
    """Every figure marker of Markdown ``text`` (fenced code blocks are skipped)."""
    lines, fence = text.splitlines(), None
    for i, line in enumerate(lines):
        f = FENCE.match(line)
        if f:
            fence = None if fence and f[1].startswith(fence) else fence or f[1]
            continue
        if fence:
            continue
        spans = [m.span() for m in CODE_SPAN.finditer(line)]
        found = [m for m in MARKER.finditer(line) if not any(a <= m.start() < b for a, b in spans)]
        if not found:
            continue
        if line.strip() == found[0].group(0) and len(found) == 1:
            table = list(itertools.takewhile(lambda s: s.lstrip().startswith("|"), lines[i + 1 :]))
            error = "" if table else "a marker on a line of its own must precede a table"
            yield Marker(i + 1, found[0]["spec"], "table", [], table, error)
            continue
        is_row = line.lstrip().startswith("|")
        cells = _table_cells(line) if is_row else []
        previous_end = 0
        for m in found:
            if not is_row:
                try:
                    figure = [_prose_figure(line[: m.start()])]
                except FigureError as err:
                    yield Marker(i + 1, m["spec"], "figure", [], [], str(err))
                    continue
                yield Marker(i + 1, m["spec"], "figure", figure, [])
            elif not cells or m.start() > cells[-1][1]:
                yield Marker(i + 1, m["spec"], "row", figures_in(line[: m.start()]), [])
            else:
                start = next(a for a, b in cells if a <= m.start() <= b)
                covered = line[max(start, previous_end) : m.start()]
                yield Marker(i + 1, m["spec"], "cell", figures_in(covered), [])
            previous_end = m.end()


# ---- the JSON side: keys to values -------------------------------------------------------


def _split_top(text: str, seps: str) -> list[str]:
    """Split ``text`` at the characters ``seps`` outside brackets, braces and parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        if ch in seps and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def expand_braces(key: str) -> list[str]:
    """Every key that ``{a,b}`` groups stand for, the last group varying fastest.

    Example:
        >>> expand_braces("ms.{jaxrnn,torch}.{fwd,grad}")
        ['ms.jaxrnn.fwd', 'ms.jaxrnn.grad', 'ms.torch.fwd', 'ms.torch.grad']
    """
    m = re.search(r"\{([^{}]*)\}", key)
    if not m:
        return [key]
    return [
        out
        for alt in m[1].split(",")
        for out in expand_braces(key[: m.start()] + alt.strip() + key[m.end() :])
    ]


def results_file(stem: str, root: Path = ROOT) -> Path:
    """The file a key's ``FILE`` names (see the module docstring)."""
    if "/" in stem:
        candidates = [root / stem]
    else:
        name = stem if stem.endswith((".json", ".md")) else f"{stem}.json"
        candidates = [root / d / name for d in RESULT_DIRS]
    for c in candidates:
        if c.is_file():
            return c
    raise FigureError(f"no results file {stem!r}: looked for {', '.join(map(str, candidates))}")


_LOADED: dict[Path, Any] = {}


def _load(path: Path) -> Any:
    if path not in _LOADED:
        _LOADED[path] = json.loads(path.read_text())
    return _LOADED[path]


def _steps(path: str) -> list[tuple[str, str]]:
    """``a.b[sel].c`` as ``[("key", "a"), ("key", "b"), ("sel", "sel"), ("key", "c")]``."""
    steps: list[tuple[str, str]] = []
    for part in _split_top(path, "."):
        m = re.fullmatch(r"(?P<key>[^\[]*)(?P<sels>(?:\[[^\]]*\])*)", part)
        if not m:
            raise FigureError(f"cannot read {part!r} in {path!r}")
        if m["key"]:
            steps.append(("key", m["key"]))
        steps += [("sel", s) for s in re.findall(r"\[([^\]]*)\]", m["sels"])]
    return steps


def _matches(element: Any, item: str) -> bool:
    if not isinstance(element, dict):
        return False
    field, eq, want = item.partition("=")
    if eq:
        return field in element and fnmatch.fnmatchcase(str(element[field]), want)
    scalars = [v for v in element.values() if isinstance(v, str | int | float)]
    return any(fnmatch.fnmatchcase(str(v), item) for v in scalars)


def _select(nodes: list[Any], sel: str, path: str) -> list[Any]:
    items = [s.strip() for s in sel.split(",")]
    out = []
    for node in nodes:
        if isinstance(node, dict) and sel in node:  # a key with spaces: metrics[rnn trained]
            out.append(node[sel])
            continue
        if not isinstance(node, list):
            raise FigureError(f"[{sel}] in {path!r}: expected a list, got {type(node).__name__}")
        if len(items) == 1 and re.fullmatch(r"-?\d+", items[0]):
            out.append(node[int(items[0])])
            continue
        found = [e for e in node if all(_matches(e, it) for it in items if it != "*")]
        wildcard = any(ch in sel for ch in "*?")
        if not found or (len(found) > 1 and not wildcard):
            raise FigureError(
                f"[{sel}] in {path!r}: expected {'some' if wildcard else 'one'} matching "
                f"element, got {len(found)}"
            )
        out += found
    return out


def _walk(data: Any, path: str) -> list[Any]:
    nodes, steps = [data], _steps(path)
    i = 0
    while i < len(steps):
        kind, text = steps[i]
        if kind == "sel":
            nodes, i = _select(nodes, text, path), i + 1
            continue
        run = list(itertools.takewhile(lambda s: s[0] == "key", steps[i:]))
        for n in range(len(run), 0, -1):  # a key may hold dots: the longest that exists
            name = ".".join(t for _, t in run[:n])
            if all(isinstance(node, dict) and name in node for node in nodes):
                nodes, i = [node[name] for node in nodes], i + n
                break
        else:
            have = sorted(nodes[0]) if isinstance(nodes[0], dict) else type(nodes[0]).__name__
            raise FigureError(f"{run[0][1]!r} in {path!r}: not found; there: {have}")
    return nodes


def values(key: str, root: Path = ROOT) -> list[float]:
    """The number(s) one key (after brace expansion) gives.

    Example:
        >>> values("bench:meta.cpus")
        [2]
    """
    stem, colon, path = key.partition(":")
    if not colon:
        raise FigureError(f"expected FILE:PATH, got {key!r}")
    data = _load(results_file(stem, root))
    group = re.search(r"\(([^()]*[/*][^()]*)\)", path)
    if group:  # (a/b*c): each term put in the group's place (or a number), left to right
        terms = [t.strip() for t in re.split(r"([/*])", group[1])]
        out: list[float] = []
        for i in range(0, len(terms), 2):
            term = terms[i]
            if re.fullmatch(NUMBER, term):
                vals = [float(term)]
            else:
                vals = values(f"{stem}:{path[: group.start()]}{term}{path[group.end() :]}", root)
            if i == 0:
                out = vals
                continue
            if len(out) != len(vals) and 1 not in (len(out), len(vals)):
                raise FigureError(f"{key}: {len(out)} values against {len(vals)}")
            pairs = zip(out, vals) if len(out) == len(vals) else itertools.product(out, vals)
            out = [x / y if terms[i - 1] == "/" else x * y for x, y in pairs]
        return out
    out = _walk(data, path)
    bad = [v for v in out if isinstance(v, bool) or not isinstance(v, int | float)]
    if bad:
        raise FigureError(f"{key}: expected numbers, got {bad[0]!r}")
    return out


# ---- comparing -------------------------------------------------------------------------


def shown(value: float, like: str) -> str:
    """``value`` with the digits of the printed figure ``like``.

    Example:
        >>> shown(0.85206, "0.842"), shown(0.00041, "4.1e-4"), shown(100000, "100,000")
        ('0.852', '4.1e-4', '100,000')
        >>> shown(3.04e-7, "3.0e-07"), shown(2.5e5, "2E+05")
        ('3.0e-07', '2E+05')
    """
    mantissa, e, like_exp = like.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    if e:  # the exponent written as the page writes it: 4.1e-4, 3.0e-07, 1e+05
        m, _, exp = f"{value:.{decimals}e}".partition("e")
        digits = len(like_exp.lstrip("+-"))
        sign = "-" if int(exp) < 0 else "+" if like_exp.startswith("+") else ""
        return f"{m}{like[len(mantissa)]}{sign}{abs(int(exp)):0{digits}d}"
    text = f"{value:,.{decimals}f}" if "," in mantissa else f"{value:.{decimals}f}"
    return text


def _compare(path: str, marker: Marker, root: Path) -> list[Figure]:
    keys = [k for spec in _split_top(marker.spec, " \t") if spec for k in expand_braces(spec)]
    if len(keys) != len(marker.figures):
        shown_figs = [lo if hi is None else f"{lo}-{hi}" for lo, hi in marker.figures]
        raise FigureError(
            f"{path}:{marker.line}: the marker has {len(keys)} key(s) for {len(shown_figs)} "
            f"figure(s) {shown_figs}"
        )
    out = []
    for (lo, hi), key in zip(marker.figures, keys):
        text = lo if hi is None else f"{lo}-{hi}"
        if key == SKIP:
            continue
        try:
            vals = values(key, root)
        except FigureError as err:
            out.append(Figure(path, marker.line, text, key, "?", str(err)))
            continue
        if hi is None and len(vals) != 1:
            expected, problem = "?", f"{len(vals)} values for one figure; show a range lo-hi"
        else:
            want = [min(vals), max(vals)] if hi is not None else vals
            expected = "-".join(shown(v, t) for v, t in zip(want, (lo, hi or lo)))
            problem = "" if expected == text else f"the page shows {text}, the file {expected}"
        out.append(Figure(path, marker.line, text, key, expected, problem))
    return out


def _cells(row: str) -> list[str]:
    return [re.sub(r"\s+", " ", row[a:b]).strip() for a, b in _table_cells(row)]


def _same_cell(page: str, source: str) -> bool:
    if page == source:
        return True
    nums_p, nums_s = re.findall(NUMBER, page), re.findall(NUMBER, source)
    if re.sub(NUMBER, "#", page) != re.sub(NUMBER, "#", source) or len(nums_p) != len(nums_s):
        return False
    return all(shown(float(s.replace(",", "")), p) == p for p, s in zip(nums_p, nums_s))


def _compare_table(path: str, marker: Marker, root: Path) -> list[Figure]:
    source = results_file(marker.spec.strip(), root)
    rows = {}
    for line in source.read_text().splitlines():
        if line.lstrip().startswith("|") and not set(line) <= set("|-: "):
            rows.setdefault(_cells(line)[0], []).append(_cells(line))
    out = []
    for n, line in enumerate(marker.table[2:], start=marker.line + 3):
        cells = _cells(line)
        candidates = rows.get(cells[0], [])
        ok = any(len(c) == len(cells) and all(map(_same_cell, cells, c)) for c in candidates)
        problem = "" if ok else (
            f"row {cells[0]!r} differs from {source.relative_to(root)}" if candidates
            else f"no row {cells[0]!r} in {source.relative_to(root)}"
        )  # fmt: skip
        out.append(Figure(path, n, cells[0], str(source.relative_to(root)), "", problem))
    return out


def check_text(text: str, path: str = "<text>", root: Path = ROOT) -> list[Figure]:
    """Every marked figure of Markdown ``text`` (results files looked up under ``root``);
    a figure's ``problem`` says what is wrong, empty when the page agrees with its file."""
    out = []
    for marker in markers(text):
        if marker.error:
            out.append(Figure(path, marker.line, "", marker.spec, "", f"{path}:{marker.line}: "
                              f"{marker.error}"))  # fmt: skip
            continue
        try:
            compare = _compare_table if marker.scope == "table" else _compare
            out += compare(path, marker, root)
        except FigureError as err:
            msg = str(err) if str(err).startswith(path) else f"{path}:{marker.line}: {err}"
            out.append(Figure(path, marker.line, "", marker.spec, "", msg))
    return out


def check_file(path: Path) -> list[Figure]:
    try:
        name = str(path.resolve().relative_to(ROOT))
    except ValueError:
        name = str(path)
    try:
        return check_text(path.read_text(), name)
    except FigureError as err:
        return [Figure(name, 0, "", "", "", f"{name}: {err}")]


def _unmarked_rows(lines: list[str], first: int) -> list[tuple[int, str, list[str]]]:
    """The rows of the table whose header is ``lines[first]`` with a figure no marker covers."""
    out = []
    for i in range(first + 2, len(lines)):
        line = lines[i]
        if not line.lstrip().startswith("|"):
            break
        covered = sum(len(m.figures) for m in markers(line) if m.scope in ("row", "cell"))
        figs = figures_in(line)
        if covered < len(figs):
            texts = [lo if hi is None else f"{lo}-{hi}" for lo, hi in figs]
            out.append((i + 1, _cells(line)[0], texts))
    return out


def unmarked(text: str, heading: str) -> list[tuple[int, str, list[str]]]:
    """``(line, first cell, figures)`` of each row of the first table under ``heading``
    (a line such as ``## Results``) whose figures are not all covered by markers."""
    lines = text.splitlines()
    start = lines.index(heading)
    first = next(i for i in range(start, len(lines)) if lines[i].lstrip().startswith("|"))
    return _unmarked_rows(lines, first)


class Table(NamedTuple):
    """One Markdown table of a page."""

    line: int  # of its header row
    header: str  # the header row, stripped
    source: str  # the ``.md`` file named by a ``<!--fig FILE.md-->`` line before it, or ""
    unmarked: list[tuple[int, str, list[str]]]  # as ``unmarked``; empty when ``source``


def tables(text: str) -> list[Table]:
    """Every table of Markdown ``text`` outside fenced code, with its rows whose figures are
    not all covered by markers (none for a table copied from a results table).

    Example:
        >>> page = "| a | b |\\n|---|---|\\n| x | 1.5 |\\n\\n<!--fig t.md-->\\n| a |\\n|---|\\n"
        >>> [(t.line, t.source, t.unmarked) for t in tables(page)]
        [(1, '', [(3, 'x', ['1.5'])]), (6, 't.md', [])]
    """
    lines, fence, out = text.splitlines(), None, []
    i = 0
    while i < len(lines):
        line, f = lines[i], FENCE.match(lines[i])
        if f:
            fence = None if fence and f[1].startswith(fence) else fence or f[1]
        is_header = (
            not fence
            and line.lstrip().startswith("|")
            and i + 1 < len(lines)
            and re.fullmatch(r"\s*\|[\s:|-]+\|\s*", lines[i + 1]) is not None
        )
        if not is_header:
            i += 1
            continue
        above = MARKER.fullmatch(lines[i - 1].strip()) if i else None
        source = above["spec"] if above and above["spec"].endswith(".md") else ""
        out.append(Table(i + 1, line.strip(), source, [] if source else _unmarked_rows(lines, i)))
        i += 2
        while i < len(lines) and lines[i].lstrip().startswith("|"):
            i += 1
    return out


def markdown_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(p.rglob("*.md")) if p.is_dir() else [p]
    return [f for f in files if "_build" not in f.parts]


def main(argv: list[str]) -> int:
    listing = "--list" in argv
    paths = [a for a in argv if a != "--list"] or ["README.md", "docs"]
    problems = total = 0
    for path in markdown_files(paths):
        for fig in check_file(path):
            total += 1
            problems += bool(fig.problem)
            if fig.problem:
                print(f"{fig.path}:{fig.line}: {fig.problem} ({fig.key})")
            elif listing:
                print(f"{fig.path}:{fig.line}: {fig.text} = {fig.key}")
    print(f"{total - problems} figures agree with their files, {problems} do not")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
