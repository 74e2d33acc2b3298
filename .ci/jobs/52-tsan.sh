#!/bin/bash
# ThreadSanitizer on the threaded code: the daemon's pipeline (replay and
# lifecycle tests run the real agecamd: capture, detect, age workers,
# tracker, ring writer, reloads), the capture thread and its frame slot
# (frameslot, capfault, capdir), the stage queues, the nn worker pool and the
# ring under concurrent readers. Only those targets are built, to stay cheap.
set -uo pipefail
: "${AGECAM_CI_DIR:?run from .ci/run}"
command -v clang >/dev/null || { echo "clang missing"; exit 77; }
B=$AGECAM_CI_DIR/build
T0=$SECONDS
[ -d "$B/meson-private" ] && re=--reconfigure || re=
CC=clang CXX=clang++ meson setup $re "$B" -Doptimization=1 -Ddebug=true -Db_sanitize=thread \
  -Db_lundef=false >"$AGECAM_CI_DIR/setup.log" 2>&1 || { cat "$AGECAM_CI_DIR/setup.log"; exit 1; }
targets=(src/daemon/agecamd tests/data/mkdemo tests/daemon/test_replay tests/daemon/test_daemon
         tests/daemon/test_queue tests/capture/test_frameslot tests/capture/test_capfault
         tests/capture/test_capdir tests/nn/test_nn_kernels tests/nn/test_nn_q8 tests/ring/test_ring_stress)
ninja -C "$B" -j2 "${targets[@]}" >"$AGECAM_CI_DIR/build.log" 2>&1 || { tail -50 "$AGECAM_CI_DIR/build.log"; exit 1; }
echo "tsan: build $((SECONDS - T0)) s"
T1=$SECONDS
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
meson test -C "$B" --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
  daemon_replay daemon_lifecycle daemon_queue test_frameslot test_capfault test_capdir \
  nn_kernels nn_q8 ring_stress
rc=$?
echo "tsan: tests $((SECONDS - T1)) s"
exit $rc
