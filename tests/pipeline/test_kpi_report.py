"""The KPI report of a real (XS) run, opened in headless Chromium."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from pipeline.kpi_report import build_kpi_report
from tests.conftest import XS_END

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium(*args: str) -> str:
    """Run headless Chromium with a throw-away profile; returns its stdout."""
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail(
            "chromium not found; install it with `make system-deps`", pytrace=False
        )
    with tempfile.TemporaryDirectory() as profile:
        # Its own session, so a timeout kills Chromium's helper processes too,
        # not only the parent.
        proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, out, err)
    return out


@pytest.fixture(scope="module")
def built(xs_day):
    return build_kpi_report(xs_day, XS_END)


@pytest.fixture(scope="module")
def report(built):
    return Path(built["path"])


def test_report_is_one_self_contained_file(report, built, xs_day):
    html = report.read_text()
    assert report == xs_day.out_dir(XS_END) / "kpi_report.html"
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    assert not re.search(r"url\((?!#)", html)  # only in-page references
    assert html.count("<svg") == 7
    assert f"{built['pscore']:.1f}</td>" in html
    adjustments = pd.read_csv(xs_day.out_dir(XS_END) / "promotion_adjustments.csv")
    assert (
        html.count("<tr><td>markdown</td>") == (adjustments.action == "markdown").sum()
    )


def test_a_rerun_writes_the_same_bytes(report, xs_day):
    before = report.read_bytes()
    build_kpi_report(xs_day, XS_END)
    assert report.read_bytes() == before


def test_chromium_renders_the_table_and_the_plots(report, tmp_path):
    dom = _chromium("--dump-dom", report.as_uri())
    table = re.search(r'<table id="kpi-table">(.*?)</table>', dom, re.S).group(1)
    assert len(re.findall(r"<tr>", table)) == 1 + 5 + 1  # header, KPIs, PScore
    for label in ("Customer growth", "Conversion rate", "Promotion ROI"):
        assert label in table
    svgs = re.findall(r"<svg.*?</svg>", dom, re.S)
    assert len(svgs) == 7 and all("<path" in s for s in svgs)

    shot = tmp_path / "report.png"
    _chromium(f"--screenshot={shot}", "--window-size=1280,2400", report.as_uri())
    pixels = matplotlib.image.imread(shot)[..., :3]
    ink = (pixels < 0.9).any(axis=2)  # anything not white
    assert 0.02 < ink.mean() < 0.6
    # The charts are painted: the bars' purple fills areas, the forecast's green
    # line at least a trace.
    for rgb, least in (((0x75, 0x70, 0xB3), 2000), ((0x1B, 0x9E, 0x77), 50)):
        near = np.abs(pixels - np.array(rgb) / 255).max(axis=2) < 0.05
        assert near.sum() > least, rgb


def test_past_day_ahead_reads_region_partitions_and_the_old_single_file(tmp_path):
    """Forecasts from before the regions were mapped are one file per day; a
    store forecast again after it moved region is counted once."""
    from pipeline import io
    from pipeline.kpi_report import past_day_ahead
    from pipeline.settings import Settings

    settings = Settings.load(fusion_home=tmp_path)
    root = settings.lake / "forecast"

    def day(store: str, p50: float, horizon_day: int = 1) -> pd.DataFrame:
        return pd.DataFrame(
            {"sku": ["A"], "location_id": [store]}
            | {"horizon_day": [horizon_day], "p50_units": [p50]}
        )

    io.write_parquet(day("L1", 2.0), root / "ds=2026-01-01" / "part-0.parquet")
    io.write_parquet(
        pd.concat([day("L1", 3.0), day("L1", 9.0, horizon_day=2)]),
        root / "ds=2026-01-02" / "region=north" / "part-0.parquet",
    )
    io.write_parquet(day("L2", 4.0), root / "ds=2026-01-02/region=south/part-0.parquet")
    io.write_parquet(day("L2", 4.0), root / "ds=2026-01-02/region=west/part-0.parquet")
    (root / "ds=2026-01-03").mkdir()  # a day whose forecast never landed
    points = past_day_ahead(settings, "2026-01-05", pd.Timestamp("2025-12-01"))
    assert points.to_dict() == {
        pd.Timestamp("2026-01-02"): 2.0,
        pd.Timestamp("2026-01-03"): 7.0,
    }
