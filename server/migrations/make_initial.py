"""Regenerate the initial migration from the models: ``python -m server.migrations.make_initial``.

Used while the first release is being built, so every slice can change its tables; after the first release,
new migrations are added with ``alembic revision --autogenerate`` instead and this script is retired.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from server.migrations import HERE, alembic_config


def main() -> None:
    target = HERE / "versions" / "0001_initial.py"
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = alembic_config(f"sqlite:///{Path(tmp) / 'empty.sqlite3'}")
        command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
    generated = next((HERE / "versions").glob("0001_*.py"))
    generated.rename(target)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
