"""Compile every locale/*/LC_MESSAGES/*.po into the .mo beside it, with the pure-Python polib
(`make messages-compile`): no gettext tools needed. The .mo files are committed, so `make run`
never compiles; tests/test_translations.py fails when a .mo no longer matches its .po."""

import sys
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "locale"


def main():
    catalogues = sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))
    for po_path in catalogues:
        catalogue = polib.pofile(str(po_path))
        catalogue.save_as_mofile(str(po_path.with_suffix(".mo")))
        print(f"{po_path.relative_to(LOCALE.parent)}: {len(catalogue.translated_entries())} messages")
    return 0 if catalogues else 1


if __name__ == "__main__":
    sys.exit(main())
