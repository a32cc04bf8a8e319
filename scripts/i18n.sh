#!/usr/bin/env bash
# Update the workstation's translation sources and compile them.
#
#   scripts/i18n.sh            lupdate (workstation/ui, workstation/models and workstation/services/media → resources/i18n/*.ts), then lrelease
#   scripts/i18n.sh --release  lrelease only (compile the .ts files as they are)
#
# Source strings are English (self.tr / QCoreApplication.translate / QT_TRANSLATE_NOOP); Simplified Chinese is
# translated in resources/i18n/workstation_zh_CN.ts (edit with pyside6-linguist). English needs no translation
# except plural forms (%n), which workstation_en.ts carries. tests/workstation/test_translations.py fails while
# any zh_CN entry is unfinished.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/.venv/bin"
LUPDATE="${LUPDATE:-$BIN/pyside6-lupdate}"
LRELEASE="${LRELEASE:-$BIN/pyside6-lrelease}"
OUT="resources/i18n"
LANGS=(zh_CN en)
mkdir -p "$OUT"

if [ "${1:-}" != "--release" ]; then
    mapfile -t SOURCES < <(find workstation/ui workstation/models workstation/services/media -name '*.py' -not -path '*/__pycache__/*' | sort)
    # Chinese: every string; English (the source language): only the plural forms of %n strings
    "$LUPDATE" -no-obsolete -locations relative -target-language zh_CN "${SOURCES[@]}" \
        -ts "$OUT/workstation_zh_CN.ts"
    "$LUPDATE" -no-obsolete -locations relative -pluralonly -source-language en -target-language en \
        "${SOURCES[@]}" -ts "$OUT/workstation_en.ts"
fi
for lang in "${LANGS[@]}"; do
    "$LRELEASE" "$OUT/workstation_$lang.ts" -qm "$OUT/workstation_$lang.qm"
done
