"""How the simulated team turns what a call did into the code an agent notes."""

from __future__ import annotations

import numpy as np

from radar.outreach_loop import NOTED_CODES as CODES
from radar.outreach_loop import noted_codes

# One call in each band: made things worse, changed nothing, calmed, resolved the issue.
SHARES = np.array([-0.25, 0.1, 0.3, 0.8])


def test_a_faultless_agent_notes_the_band_of_what_the_call_did():
    codes = noted_codes(SHARES, 0.0, np.random.default_rng(0))
    assert [CODES[c] for c in codes] == [
        "customer_upset", "no_change", "customer_calmed", "issue_resolved",
    ]  # fmt: skip
    # The bands' edges: nothing removed is "no change", 0.6 removed resolves it.
    assert [CODES[c] for c in noted_codes(np.array([0.0, 0.6]), 0.0, np.random.default_rng(0))] == [
        "no_change", "issue_resolved",
    ]  # fmt: skip


def test_a_wrong_note_is_another_band_drawn_evenly():
    shares = np.repeat(SHARES, 3000)
    true = noted_codes(shares, 0.0, np.random.default_rng(0))
    always_wrong = noted_codes(shares, 1.0, np.random.default_rng(1))
    assert (always_wrong != true).all()
    for band in range(len(CODES)):  # each other band about a third of the time
        others = np.bincount(always_wrong[true == band], minlength=len(CODES)) / 3000
        assert others[band] == 0
        assert np.allclose(np.delete(others, band), 1 / 3, atol=0.04)
    sometimes = noted_codes(shares, 0.2, np.random.default_rng(2))
    assert abs((sometimes != true).mean() - 0.2) < 0.02
