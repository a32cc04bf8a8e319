"""Imports every slice's models so that ``Base.metadata`` knows all tables (Alembic, tests)."""
from __future__ import annotations

from server import idempotency  # noqa: F401  (the idempotency_keys table)
from server.accounts import models as accounts  # noqa: F401
from server.appointments import models as appointments  # noqa: F401
from server.audit import models as audit  # noqa: F401
from server.catalogue import models as catalogue  # noqa: F401
from server.consultation import models as consultation  # noqa: F401
from server.events import models as events  # noqa: F401
from server.files import models as files  # noqa: F401
from server.patients import models as patients  # noqa: F401
from server.payments import models as payments  # noqa: F401
from server.prescriptions import models as prescriptions  # noqa: F401
from server.refunds import models as refunds  # noqa: F401
from server.sms import models as sms  # noqa: F401
from server.staff import models as staff  # noqa: F401
from server.video import models as video  # noqa: F401
