"""Entry point of the staff workstation (filled in by the workstation issue)."""
from __future__ import annotations

import sys


def main() -> int:
    """Start the workstation. Until the workstation issue lands this only says so."""
    sys.stderr.write("clinic-workstation: the desktop application is not built yet; see the README.\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
