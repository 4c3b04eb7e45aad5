"""A stage's peak RSS is its own, not the process's peak before it."""

import numpy as np

from pipeline import resources


def test_peak_rss_window_sees_a_big_allocation_and_forgets_it_after_reset():
    assert resources.reset_peak_rss()  # Linux lets a process reset its own peak
    before = resources.peak_rss_mb()
    big = np.ones(300 * 2**20 // 8)  # 300 MB, touched
    during = resources.peak_rss_mb()
    del big
    resources.reset_peak_rss()
    after = resources.peak_rss_mb()
    assert during - before >= 250
    assert after < during - 250
