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


@pytest.mark.parametrize(("reason", "again"), [("window_refund", False), ("visit_finished", False),
                                               ("no_answer", True), ("patient_hung_up", True)])
def test_a_refunded_or_finished_visit_is_not_offered_a_new_call(qtbot: object, reason: str, again: bool) -> None:
    from PySide6.QtCore import QObject, Signal

    from workstation.services.call import ENDED, CallSession

    class Hub(QObject):
        sig_events = Signal(object)

    hub = Hub()
    session = CallSession(api=None, hub=hub, appointment_id=1)
    session.state, session.reason = ENDED, reason
    panel = VideoPanel(session=session, patient_name="周小梅")
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    panel.show()
    panel.retranslate()
    assert panel.btn_reinvite.isVisibleTo(panel) is again
    assert panel.btn_close.isVisibleTo(panel)
