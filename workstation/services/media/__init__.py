"""The video visit's media: where the doctor's picture and sound come from (camera, microphone, screen, a test
pattern) and how the patient's arrive on screen. aiortc tracks on the qasync loop; no widgets.

Every queue here holds at most the newest frame: a source that is read late skips to the frame due now, a
receiver that draws late draws only the newest picture. Latency never grows with time.
"""
