#!/usr/bin/env python3
"""Compiles every catalog under locale/ (locale/<language>/LC_MESSAGES/*.po) into its .mo with polib,
so no GNU gettext is needed: `python scripts/compile_messages.py` after editing a .po. The .mo files
are committed; tests/test_js_i18n.py checks that each matches its .po."""

import sys
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "locale"


def compile_all(locale=LOCALE):
    compiled = []
    for source in sorted(locale.glob("*/LC_MESSAGES/*.po")):
        catalog = polib.pofile(str(source))
        catalog.save_as_mofile(str(source.with_suffix(".mo")))
        compiled.append(source)
    return compiled


if __name__ == "__main__":
    for source in compile_all():
        print(f"compiled {source.relative_to(LOCALE.parent)}")
    sys.exit(0)
