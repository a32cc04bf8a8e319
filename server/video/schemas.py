"""Request and response shapes of the video visit: WebRTC signalling as browsers speak it, calls, consent.

Descriptions and candidates keep the browser's own field names (``RTCSessionDescriptionInit``,
``RTCIceCandidateInit``), so a page passes them to ``RTCPeerConnection`` unchanged.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from server.appointments.schemas import MAX_ID, Id
from server.config import IceServer
from server.consultation.schemas import LINE, LINES

MAX_SDP_CHARS = 100_000  # a video offer with screen sharing is a few kB; simulcast and many codecs stay far below

SegmentState = Literal["invited", "connected", "interrupted", "ended"]


class SessionDescription(BaseModel):
    """RTCSessionDescriptionInit: SDP has CRLF line breaks, no other control characters."""

    type: Literal["offer", "answer"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS, pattern=LINES)


class IceCandidate(BaseModel):
    """RTCIceCandidateInit (``candidate: ""`` is a browser's end-of-candidates marker for one m-line)."""

    candidate: str = Field(max_length=2000, pattern=LINE, description="candidate:… or empty")
    sdpMid: str | None = Field(default=None, max_length=64, pattern=LINE)
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=1023)
    usernameFragment: str | None = Field(default=None, max_length=256, pattern=LINE)


class _Signal(BaseModel):
    segment_id: Id = Field(description="the open segment (Call.segment.id)")
    description: SessionDescription | None = Field(default=None, description="for offer / answer")
    candidate: IceCandidate | None = Field(default=None, description="for candidate: required, null = end of "
                                                                     "candidates")


class DoctorSignal(_Signal):
    type: Literal["offer", "candidate", "hangup"]


class PatientSignal(_Signal):
    type: Literal["answer", "candidate", "hangup"]


class SignalAccepted(BaseModel):
    id: int = Field(description="the id of the call.signal event that carries it to the other side")


class CallStateReport(BaseModel):
    """What the doctor's client observed on the segment's peer connection."""

    segment_id: Id
    state: Literal["connected", "interrupted"]
    reason: Literal["line_dropped", "failed"] | None = Field(
        default=None, description="with interrupted: line_dropped (media or heartbeat lost; the default) or "
                                  "failed (ICE/DTLS failure)")


class SegmentPublic(BaseModel):
    id: int
    seq: int
    state: SegmentState
    invited_at: dt.datetime
    connected_at: dt.datetime | None
    interrupted_at: dt.datetime | None
    ended_at: dt.datetime | None
    end_reason: str | None = Field(description="why it was interrupted (kept when it ends) or ended: "
                                               "doctor_ended | patient_hung_up | patient_left | line_dropped | "
                                               "no_answer | reinvited | visit_finished | window_refund | "
                                               "failed")
    offer: SessionDescription | None = Field(description="the doctor's latest offer")


class CallPublic(BaseModel):
    appointment_id: int
    state: SegmentState = Field(description="the newest segment's state")
    segment: SegmentPublic | None = Field(description="the newest segment")
    segments: list[SegmentPublic] = Field(description="every segment, oldest first")
    ice_servers: list[IceServer] = Field(description="RTCConfiguration.iceServers for the peer connection")


class ConsentPublic(BaseModel):
    id: int
    appointment_id: int
    state: Literal["requested", "consented", "declined"]
    version: int
    text: str = Field(description="the consent text of that version (处方知情同意书)")
    requested_at: dt.datetime
    answered_at: dt.datetime | None


class ConsentAnswer(BaseModel):
    request_id: Id
    version: int = Field(ge=1, le=MAX_ID, description="the version of the text the patient read")
    agree: bool
