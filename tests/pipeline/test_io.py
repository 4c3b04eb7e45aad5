import pandas as pd
import pytest

from pipeline import io


def test_write_parquet_replaces_whole_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "ds=2026-01-01" / "part-0.parquet"
    io.write_parquet(pd.DataFrame({"a": [1, 2]}), path)
    io.write_parquet(pd.DataFrame({"a": [3]}), path)
    assert pd.read_parquet(path).a.tolist() == [3]
    assert [p.name for p in path.parent.iterdir()] == ["part-0.parquet"]


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "report.json"
    io.write_json({"ok": 1}, path)

    class Boom:
        def __repr__(self):
            raise RuntimeError("serialiser died")

    with pytest.raises(RuntimeError):
        io.write_json({"bad": Boom()}, path)
    assert io.read_json(path) == {"ok": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_replace_dir_swaps_in_a_complete_folder(tmp_path):
    target = tmp_path / "model"
    io.replace_dir(lambda d: (d / "v").write_text("1"), target)
    io.replace_dir(lambda d: (d / "w").write_text("2"), target)
    assert sorted(p.name for p in target.iterdir()) == ["w"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
