#!/bin/bash
# Soak for 60 s (AGECAM_SOAK_SECONDS): tests/soak/soak.sh on the main CI
# build, agecamd at full speed on the demo frames with readers joining,
# freezing, leaving and being killed.
set -uo pipefail
: "${AGECAM_CI_DIR:?run from .ci/run}"
B=${AGECAM_MAIN_BUILD:?run from .ci/run}
[ -x "$B/tests/soak/soak_reader" ] || { echo "no main build"; exit 77; }
D=$AGECAM_CI_DIR
mkdir -p "$D/frames" "$D/meson-logs"
"$B/tests/data/mkdemo" tests/data/astronaut.jpg "$D/frames" 30 2 640 480 300 >/dev/null || exit 1
res=OK
bash tests/soak/soak.sh "$B/src/daemon/agecamd" "$B/tests/soak/soak_reader" "$D/frames" \
  "$PWD/models/smlf-small.acnn" "${AGECAM_SOAK_SECONDS:-60}" "$D/run" || res=FAIL
printf '{"name": "soak", "result": "%s"}\n' $res >"$D/meson-logs/testlog.json"
[ $res = OK ]
