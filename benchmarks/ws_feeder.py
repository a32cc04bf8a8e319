"""State changes at a fixed rate from a process of its own: ``python -m benchmarks.ws_feeder RATE SECONDS
IDS_JSON`` (run with the server's environment) writes appointment events for the given appointments through the
server's own ``record_change`` (event + audit entry, one transaction each), as a state change of the service
would, and prints ``{"written": n, "seconds": s}``. The appointments' statuses cycle checked_in → waiting →
in_consultation in the events' payloads (the rows themselves are not touched: what is measured is the
workstation's side)."""
from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from server.actor import SYSTEM
    from server.appointments.models import Appointment
    from server.appointments.service import event_payload
    from server.events.service import record_change

    rate, seconds, ids = float(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
    engine = create_engine(os.environ["CLINIC_DATABASE_URL"])
    cycle = ("checked_in", "waiting", "in_consultation")
    with Session(engine) as s:
        appts = list(s.execute(select(Appointment).where(Appointment.id.in_(ids))).scalars())
        payloads = [event_payload(s, a) for a in appts]
        s.rollback()
    n = 0
    t0 = time.monotonic()
    while True:
        due = t0 + n / rate
        t = time.monotonic()
        if t - t0 >= seconds:
            break
        if due > t:
            time.sleep(due - t)
        p = dict(payloads[n % len(payloads)])
        status = cycle[(n // len(payloads)) % len(cycle)]
        p["status"] = status
        p["waiting_since"] = p["starts_at"] if status == "waiting" else None
        with Session(engine) as s, s.begin():
            record_change(s, actor=SYSTEM, kind=f"appointment.{status}", object_type="appointment",
                          object_id=p["appointment_id"], topic="clinical", doctor_id=p["doctor_id"], payload=p)
        n += 1
    print(json.dumps({"written": n, "seconds": round(time.monotonic() - t0, 2)}), flush=True)


if __name__ == "__main__":
    main()
