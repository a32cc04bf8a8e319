"""Entry point of the staff workstation: ``clinic-workstation [--server URL] [--lang zh_CN|en]``."""
from __future__ import annotations

import sys


def main() -> int:
    from workstation.ui.app import main as run

    return run(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
