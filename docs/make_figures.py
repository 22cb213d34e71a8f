"""Draw the diagrams of the documentation: ``python docs/make_figures.py``.

Writes ``docs/img/pattern_*.png`` (the usage patterns) and ``docs/img/lstm_cell.png``.
The measured plots in ``docs/img`` come from the experiments, not from this script.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).parent / "img"
COLOURS = {"x": "#c8e6c9", "s": "#bbdefb", "y": "#ffcdd2", "none": "white"}
# Each pattern: which steps take an input, which emit an output, the figure's caption.
PATTERNS = {
    "one_to_one": ([1], [1], "one-to-one: digits read as one step"),
    "one_to_many": ([1], [1, 2, 3, 4], "one-to-many: an image in, a caption out"),
    "many_to_one": ([1, 2, 3, 4], [4], "many-to-one: a sentence in, its sentiment out"),
    "many_to_many": ([1, 2, 3, 4], [1, 2, 3, 4], "many-to-many: the next character at each step"),
    "encoder_decoder": ([1, 2, 3], [4, 5, 6], "many-to-many, encoder-decoder: translation"),
}


def box(ax, x, y, label, colour, width=0.6):
    ax.add_patch(FancyBboxPatch((x - width / 2, y - 0.22), width, 0.44, boxstyle="round,pad=0.03",
                                fc=COLOURS[colour], ec="black", lw=1.2))
    ax.text(x, y, label, ha="center", va="center", fontsize=12)


def operator(ax, x, y, symbol):
    """A point-wise operation (product, sum) as a circle."""
    ax.add_patch(plt.Circle((x, y), 0.25, fc="#ffe0b2", ec="black"))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=14)


def arrow(ax, a, b):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=14, lw=1.2))


def pattern(name, inputs, outputs, caption):
    T = max(inputs + outputs)
    fig, ax = plt.subplots(figsize=(max(4.5, 1.3 + 1.2 * T), 3.0))
    for t in range(1, T + 1):
        box(ax, t, 1, f"$s_{t}$", "s")
        if t in inputs:
            box(ax, t, 0, f"$x_{t}$", "x")
            arrow(ax, (t, 0.22), (t, 0.78))
        if t in outputs:
            box(ax, t, 2, f"$y_{t}$", "y")
            arrow(ax, (t, 1.22), (t, 1.78))
        arrow(ax, (t - 0.7, 1), (t - 0.3, 1))
    ax.text(0.2, 1, "$s_0$", ha="right", va="center", fontsize=12)
    pad = max(0.0, (4.5 - 1.3 - 1.2 * T) / 2.4)
    ax.set_xlim(-0.2 - pad, T + 0.5 + pad)
    ax.set_ylim(-0.4, 2.6)
    ax.set_title(caption, fontsize=11)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(OUT / f"pattern_{name}.png", dpi=110)
    plt.close(fig)


def lstm_cell():
    """The cell state runs along the top; gates read [h_{t-1}, x_t] from the bottom."""
    fig, ax = plt.subplots(figsize=(8.0, 4.2))
    ax.annotate("", (9.4, 3), (0.1, 3), arrowprops=dict(arrowstyle="-|>", lw=2.2))
    ax.text(0.1, 3.2, "$C_{t-1}$", fontsize=13)
    ax.text(8.9, 3.2, "$C_t$", fontsize=13)
    ax.annotate("", (9.4, 0.2), (0.1, 0.2), arrowprops=dict(arrowstyle="-|>", lw=1.2))
    ax.text(0.1, -0.25, "$h_{t-1}$, $x_t$", fontsize=12)
    ax.text(8.9, -0.25, "$h_t$", fontsize=12)
    gates = [(2, r"$f_t=\sigma$", "forget"), (3.6, r"$i_t=\sigma$", "input"),
             (5.2, r"$\tilde C_t=\tanh$", "candidate"), (7.2, r"$o_t=\sigma$", "output")]
    for x, label, note in gates:
        box(ax, x, 1.2, label, "x" if note != "candidate" else "s", width=1.1)
        ax.text(x, 0.7, note, ha="center", fontsize=9, color="dimgray")
        arrow(ax, (x, 0.2), (x, 0.98))
    for x, y, symbol in [(2, 3, r"$\times$"), (4.5, 3, "+"), (4.5, 2.2, r"$\times$"),
                         (8.2, 1.2, r"$\times$")]:  # fmt: skip
        operator(ax, x, y, symbol)
    arrow(ax, (2, 1.42), (2, 2.75))
    arrow(ax, (3.6, 1.42), (4.35, 2.0))
    arrow(ax, (5.2, 1.42), (4.65, 2.0))
    arrow(ax, (4.5, 2.45), (4.5, 2.75))
    box(ax, 7.2, 2.4, r"$\tanh$", "s")
    arrow(ax, (7.2, 3), (7.2, 2.62))
    arrow(ax, (7.75, 1.2), (7.95, 1.2))
    arrow(ax, (7.45, 2.25), (8.1, 1.42))
    arrow(ax, (8.2, 0.95), (8.6, 0.25))
    ax.text(4.7, 3.75, r"$C_t = f_t \odot C_{t-1} + i_t \odot \tilde C_t$, "
            r"$h_t = o_t \odot \tanh(C_t)$", ha="center", fontsize=12)
    ax.set_xlim(-0.2, 9.8)
    ax.set_ylim(-0.6, 4.1)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(OUT / "lstm_cell.png", dpi=110)
    plt.close(fig)


def main():
    OUT.mkdir(exist_ok=True)
    for name, (inputs, outputs, caption) in PATTERNS.items():
        pattern(name, inputs, outputs, caption)
    lstm_cell()


if __name__ == "__main__":
    main()
