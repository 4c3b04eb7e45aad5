"""The KPI report's charts as inline SVG (matplotlib, no network, no files).

Each function takes small frames and returns an ``<svg>`` string. The SVG ids
are salted with a constant and carry no date, so a re-run writes the same
bytes.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

plt.rcParams.update(
    {
        "svg.hashsalt": "fusionloop",
        "svg.fonttype": "none",  # text stays text: smaller and searchable
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)
_SIZE = (7.5, 2.8)


def to_svg(fig) -> str:
    """The figure as an inline ``<svg>`` element (XML prologue dropped)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def forecast_vs_actual(actual: pd.Series, forecast: pd.DataFrame, past) -> str:
    """Units a day: actual history, past 1-day-ahead P50, P50 and P90 ahead.

    ``actual``: units by date; ``forecast``: forecast_date, p50_units,
    p90_units summed over SKUs and locations; ``past``: P50 by date.
    """
    fig, ax = plt.subplots(figsize=_SIZE)
    ax.plot(actual.index, actual.to_numpy(), color="#333", lw=1.2, label="actual")
    if len(past):
        ax.plot(
            past.index,
            past.to_numpy(),
            "o",
            ms=3,
            color="#d95f02",
            label="forecast made the day before (P50)",
        )
    ax.fill_between(
        forecast.forecast_date,
        forecast.p50_units,
        forecast.p90_units,
        color="#1b9e77",
        alpha=0.25,
        label="forecast ahead: P50 to summed P90s",
    )
    ax.plot(forecast.forecast_date, forecast.p50_units, color="#1b9e77", lw=1.5)
    ax.set_ylabel("units / day")
    ax.legend(loc="upper left", frameon=False, ncol=3)
    fig.autofmt_xdate()
    return to_svg(fig)


def inventory_projection(projection: pd.DataFrame) -> str:
    """Projected units on hand per location (columns) by day (index)."""
    fig, ax = plt.subplots(figsize=_SIZE)
    for location in projection.columns:
        ax.plot(projection.index, projection[location], marker=".", label=location)
    ax.axhline(0, color="#999", lw=0.8)
    ax.set_ylabel("units on hand (P50 demand)")
    ax.legend(frameon=False, ncol=len(projection.columns))
    fig.autofmt_xdate()
    return to_svg(fig)


def bars(values: pd.Series, ylabel: str, fmt: str = "{:.2f}") -> str:
    """One bar per index entry, labelled with its value."""
    fig, ax = plt.subplots(figsize=(_SIZE[0] / 2, _SIZE[1]))
    drawn = ax.bar([str(i) for i in values.index], values.to_numpy(), color="#7570b3")
    ax.bar_label(drawn, labels=[fmt.format(v) for v in values], fontsize=8)
    ax.ticklabel_format(axis="y", style="plain")
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", rotation=20)
    return to_svg(fig)


def grouped_bars(table: pd.DataFrame, ylabel: str) -> str:
    """Bars per row (x) and column (colour) of ``table``."""
    fig, ax = plt.subplots(figsize=_SIZE)
    width = 0.8 / max(len(table.columns), 1)
    for k, column in enumerate(table.columns):
        x = [i + k * width for i in range(len(table))]
        ax.bar(x, table[column].to_numpy(), width, label=str(column))
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(table))])
    ax.set_xticklabels([str(i) for i in table.index])
    ax.axhline(0, color="#999", lw=0.8)
    ax.set_ylabel(ylabel)
    if len(table.columns):  # an import without promotions has no ROI to show
        ax.legend(frameon=False, ncol=len(table.columns))
    return to_svg(fig)
