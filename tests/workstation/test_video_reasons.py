"""Every reason the server ends a call with has a sentence on the doctor's video panel (a call ended by the refund
window must not end without a word)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("PySide6")

from server.video.segments import END_REASONS
from workstation.ui.doctor.video_panel import VideoPanel

pytestmark = pytest.mark.db_independent


@pytest.mark.parametrize("reason", END_REASONS)
def test_each_end_reason_is_told(reason: str) -> None:
    panel = SimpleNamespace(session=SimpleNamespace(reason=reason), tr=lambda text: text)
    text = VideoPanel.reason_text(panel)  # type: ignore[arg-type]
    assert text and text.endswith("."), (reason, text)
