"""Regions: the shards the forecast and the plan are mapped over.

A region is the ``region`` of the ERP's locations (``stg_locations``). The
forecast is written per region (``lake/forecast/ds=<ds>/region=<r>/``) and
the plan's first pass is solved per region (``out/<ds>/plan_blocks/``), in one
Airflow task each (``dags/fusion_daily.py`` maps them) or one after the other
(``fusionloop run``): the same functions, the same files, the same plan
(where every store's MILP solves within its time limit).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.settings import Settings
from pipeline.warehouse import read_warehouse


def regions(settings: Settings) -> list[str]:
    """The regions of the warehouse's locations, sorted; at least one.

    No region would leave the mapped forecast and plan with nothing to map
    over, and Airflow would skip them and the stages after them: a day
    without a plan that looks like a success. So that is an error here.
    """
    with read_warehouse(settings) as con:
        rows = con.execute(
            "select distinct region from stg_locations order by region"
        ).fetchall()
    if not rows:
        raise RuntimeError(
            f"{settings.warehouse}: stg_locations has no store, so there is "
            "nothing to forecast or plan; check the erp_locations drop"
        )
    return [str(r) for (r,) in rows]


def locations_of(settings: Settings, region: str) -> list[str]:
    """The locations of ``region``, sorted."""
    with read_warehouse(settings) as con:
        rows = con.execute(
            "select location_id from stg_locations where region = $region"
            " order by location_id",
            {"region": region},
        ).fetchall()
    return [str(r) for (r,) in rows]


def forecast_path(settings: Settings, ds: str, region: str) -> Path:
    """Where the forecast of ``region``'s locations for run date ``ds`` goes."""
    return (
        settings.lake / "forecast" / f"ds={ds}" / f"region={region}" / "part-0.parquet"
    )


def read_forecast(settings: Settings, ds: str) -> pd.DataFrame:
    """The day's forecast over every current region, sorted by SKU, location, day.

    Only today's regions are read: a partition left by a region that no
    longer exists (a location moved) is not part of the day's forecast.
    """
    parts = [pd.read_parquet(forecast_path(settings, ds, r)) for r in regions(settings)]
    frame = pd.concat(parts, ignore_index=True)
    return frame.sort_values(["sku", "location_id", "forecast_date"]).reset_index(
        drop=True
    )
