#!/bin/bash
# ARM builds under emulation: the inference runtime (meson -Dnn_only=true)
# cross-compiled for aarch64 and armhf with Debian's crossbuild-essential
# toolchains, and its kernel parity and golden tests run through qemu-user
# (the cross files' exe_wrapper, so binfmt_misc is not needed). The tests
# must run the NEON copy of the fast kernels (AGECAM_NN_EXPECT_SIMD=neon): a
# build or hwcap check that silently fell back to the baseline fails.
# The scalar pass of the golden tests is skipped here (a minute under qemu;
# the kernel tests still check scalar against the reference on ARM).
# Budget: about 4 minutes on 2 cores.
set -uo pipefail
: "${AGECAM_CI_DIR:?set by .ci/run}"
mkdir -p "$AGECAM_CI_DIR"
PKGS="crossbuild-essential-arm64 crossbuild-essential-armhf qemu-user"
if ! AGECAM_DEPS_EXTRA="$PKGS" bash .ci/deps >"$AGECAM_CI_DIR/deps.log" 2>&1; then
  echo "cross-arm: could not install $PKGS (see $AGECAM_CI_DIR/deps.log); skipped"
  exit 77
fi
rc=0
for arch in aarch64:aarch64-linux-gnu armhf:arm-linux-gnueabihf; do
  name=${arch%%:*} triple=${arch#*:}
  b="$AGECAM_CI_DIR/$name"
  t0=$SECONDS
  if ! meson setup "$b" --cross-file "cross/$triple.txt" -Dnn_only=true --werror \
      -Dbuildtype=debugoptimized >"$AGECAM_CI_DIR/$name-setup.log" 2>&1; then
    cat "$AGECAM_CI_DIR/$name-setup.log"; rc=1; continue
  fi
  if ! ninja -C "$b" -j2 >"$AGECAM_CI_DIR/$name-build.log" 2>&1; then
    tail -40 "$AGECAM_CI_DIR/$name-build.log"; rc=1; continue
  fi
  # qemu runs ~20x slower than native (more on a loaded host): 10x the timeouts
  AGECAM_NN_EXPECT_SIMD=neon AGECAM_NN_GOLDEN_SKIP_SCALAR=1 \
    meson test -C "$b" --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 10 \
      nn_kernels nn_q8 nn_golden_ops nn_golden_small nn_golden_full || rc=1
  grep -h "fast kernels:" "$b/meson-logs/testlog.txt" | head -1 | sed "s/^/cross-arm $name: /"
  echo "cross-arm $name: $((SECONDS - t0)) s"
done
exit $rc
