"""Tables (markdown) and the bar chart from the benchmark results."""

from __future__ import annotations

from pathlib import Path

MODES = {"fwd": "fwd", "grad": "fwd+bwd"}
README_START = "<!-- bench:start (written by make bench) -->"
README_END = "<!-- bench:end -->"


def update_readme(readme: Path, text: str) -> bool:
    """Replace what lies between the README's benchmark markers with ``text``.

    Returns False (and changes nothing) when the README lacks the markers.
    """
    old = readme.read_text()
    start, end = old.find(README_START), old.find(README_END)
    if start < 0 or end < start:
        return False
    new = old[: start + len(README_START)] + "\n\n" + text.strip() + "\n\n" + old[end:]
    readme.write_text(new)
    return True


def markdown(data: dict) -> str:
    lines = []
    for kind in sorted({r["kind"] for r in data["results"]}):
        rows = [r for r in data["results"] if r["kind"] == kind]
        names = [n for n in rows[0]["ms"] if n != "jaxrnn"]
        lines += [f"### {kind}: ratio jaxrnn / peer (fwd, fwd+bwd; < 1 means jaxrnn faster)",
                  "", "| shape (B, T, d_h) | jaxrnn ms | " + " | ".join(names) + " |",
                  "|---" * (len(names) + 2) + "|"]
        for r in rows:
            me = r["ms"]["jaxrnn"]
            cells = [f"{me['fwd']:.1f} / {me['grad']:.1f}"]
            for n in names:
                if n in r["ms"]:
                    peer = r["ms"][n]
                    cells.append(f"{me['fwd'] / peer['fwd']:.2f} / {me['grad'] / peer['grad']:.2f}"
                                 f" ({peer['fwd']:.1f} / {peer['grad']:.1f} ms)")
                else:
                    cells.append("n/a")
            lines.append(f"| {r['name']} {tuple(r['shape'])} | " + " | ".join(cells) + " |")
        lines.append("")
    extra = data.get("extras", {})
    for c in extra.get("compile", []):
        lines.append(f"- compile (first - steady call), LSTM fwd+bwd, B={c['B']}, d_h={c['d_h']},"
                     f" T={c['T']}: {c['compile_s']:.2f} s (steady {1e3 * c['steady_s']:.1f} ms)")
    loop = extra.get("python_loop")
    if loop:
        got = (f"{loop['compile_s']:.1f} s" if not loop["timed_out"]
               else f"did not finish within {loop['timeout_s']:.0f} s (stopped)")
        lines.append(f"- contrast: Python loop of lstm_step under jit, fwd+bwd, T={loop['T']}:"
                     f" compile {got}")
    for m in extra.get("memory", []):
        run = f", one call {m['run_s']:.1f} s" if "run_s" in m else ""
        lines.append(f"- memory, LSTM fwd+bwd B={m['B']} T={m['T']} d_h={m['d_h']} "
                     f"remat={m['remat']}: XLA temp {m['temp_MiB']:.0f} MiB, peak (temp + args +"
                     f" outputs) {m['peak_MiB']:.0f} MiB{run}")
    meta = data["meta"]
    lines.append(f"\njax {meta['jax']}, torch {meta['torch']}, {meta['cpus']} CPUs "
                 f"({meta['machine']}), wall {meta['wall_s']:.0f} s")
    return "\n".join(lines) + "\n"


def bar_chart(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = sorted({r["kind"] for r in data["results"]})
    fig, axes = plt.subplots(len(kinds), 2, figsize=(12, 4 * len(kinds)), squeeze=False)
    for row, kind in enumerate(kinds):
        rows = [r for r in data["results"] if r["kind"] == kind]
        names = list(rows[0]["ms"])
        for col, mode in enumerate(MODES):
            ax = axes[row][col]
            width = 0.8 / len(names)
            for j, n in enumerate(names):
                ys = [r["ms"].get(n, {}).get(mode, 0.0) for r in rows]
                ax.bar([i + j * width for i in range(len(rows))], ys, width, label=n)
            ax.set_xticks([i + 0.4 - width / 2 for i in range(len(rows))],
                          [f"{r['name']}\n{tuple(r['shape'])}" for r in rows])
            ax.set_yscale("log")
            ax.set_ylabel("median ms per call")
            ax.set_title(f"{kind} {MODES[mode]}")
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
