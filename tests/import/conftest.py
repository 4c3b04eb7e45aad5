"""The ``sample`` fixture: a foreign-format export written into ``tmp_path``."""

from __future__ import annotations

import pytest

from tests.import_samples import write_sample


@pytest.fixture
def sample(tmp_path):
    """``sample(name)`` -> (mapping path, input folder) of a freshly written sample."""
    return lambda name: write_sample(name, tmp_path)
