"""Charts as inline SVG (matplotlib, no pyplot): they draw in Voila, in JupyterLab and in a
saved HTML report alike, with no internet and no JavaScript."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import pandas as pd

COLORS = ("#1F4E78", "#C0504D", "#9BBB59", "#8064A2", "#F79646")


def _svg(figure: object) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")  # type: ignore[attr-defined]
    text = buffer.getvalue()
    return re.sub(r"^.*?(<svg)", r"\1", text, flags=re.S)  # drop the XML prologue


def bar_chart(frame: pd.DataFrame, label: str, values: Sequence[str], title: str,
              unit: str = "", names: Sequence[str] | None = None,
              reference: str | None = None) -> str:
    """Horizontal grouped bars, one group per row of frame; reference draws a tick per row."""
    from matplotlib.figure import Figure

    frame = frame.dropna(subset=list(values), how="all")
    if frame.empty:
        return f"<p><b>{title}</b>: nothing to show for these dates.</p>"
    rows = len(frame)
    figure = Figure(figsize=(5.6, 0.9 + 0.3 * rows * max(1, len(values))))
    axes = figure.subplots()
    height = 0.8 / len(values)
    positions = range(rows)
    for number, column in enumerate(values):
        data = pd.to_numeric(frame[column], errors="coerce").fillna(0).to_numpy()
        axes.barh([p + number * height for p in positions], data, height=height,
                  color=COLORS[number % len(COLORS)],
                  label=(names[number] if names else column.replace("_", " ")))
    if reference is not None:
        marks = pd.to_numeric(frame[reference], errors="coerce").to_numpy()
        axes.scatter(marks, [p + height * (len(values) - 1) / 2 for p in positions],
                     marker="|", s=400, color="#000000", label="payer's timeframe", zorder=3)
    axes.set_yticks([p + height * (len(values) - 1) / 2 for p in positions])
    axes.set_yticklabels([str(value)[:44] for value in frame[label]], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(unit, fontsize=8)
    axes.tick_params(axis="x", labelsize=8)
    axes.set_title(title, fontsize=10, loc="left")
    axes.grid(axis="x", color="#dddddd")
    axes.set_axisbelow(True)
    if len(values) > 1 or reference is not None:
        axes.legend(fontsize=7, loc="lower right")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _svg(figure)


def line_chart(frame: pd.DataFrame, label: str, values: Sequence[str], title: str,
               unit: str = "") -> str:
    from matplotlib.figure import Figure

    if frame.empty:
        return f"<p><b>{title}</b>: nothing to show for these dates.</p>"
    figure = Figure(figsize=(5.6, 2.8))
    axes = figure.subplots()
    labels = [str(value) for value in frame[label]]
    for number, column in enumerate(values):
        axes.plot(labels, pd.to_numeric(frame[column], errors="coerce").to_numpy(),
                  marker="o", color=COLORS[number % len(COLORS)],
                  label=column.replace("_", " "))
    axes.set_title(title, fontsize=10, loc="left")
    axes.set_ylabel(unit, fontsize=8)
    axes.tick_params(labelsize=8)
    axes.grid(color="#dddddd")
    axes.legend(fontsize=7)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _svg(figure)
