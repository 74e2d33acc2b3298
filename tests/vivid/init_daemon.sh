#!/bin/busybox sh
# PID 1 of the vivid daemon VM: the whole product on a real kernel video
# driver. vivid's HDMI output /dev/video1 is looped into its HDMI input
# /dev/video0; `vivid_check pump` plays the moving-face frames into the
# output while the static agecamd captures /dev/video0, and vivid_ring reads
# the daemon's ring and prints every record (and keeps the latest HEALTH in
# /tmp/health, which the pump and this script follow: the emulated machine's
# speed varies a lot, so nothing here waits a fixed time for the daemon).
# Then the camera is taken away (driver unbound) and given back while the
# daemon runs, and the daemon is stopped with SIGTERM.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# shm_open() needs /dev/shm
mkdir -p /dev/shm /tmp && mount -t tmpfs shm /dev/shm
. /vm.env
echo "AGECAM-DAEMON boot kernel=$(uname -r)"
up() { cut -d. -f1 /proc/uptime; }
# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds; 1 on timeout
wait_for() {
  local end=$(( $(up) + $1 )); shift
  until "$@"; do [ "$(up)" -lt $end ] || return 1; sleep 0.2; done
}
health_is() { grep -q "$1" /tmp/health 2>/dev/null; }
for m in $(cat /modules/order); do
  insmod /modules/$m.ko || echo "AGECAM-DAEMON insmod FAIL $m"
done
insmod /modules/vivid.ko n_devs=1 node_types=0x101 num_inputs=1 input_types=0x3 num_outputs=1 \
  output_types=0x1 vid_cap_nr=0 vid_out_nr=1 || echo "AGECAM-DAEMON insmod FAIL vivid"
/vivid_check pump dir:/feed /tmp/health /tmp/pump-ready /tmp/pump-done &
pump=$!
wait_for 30 test -e /tmp/pump-ready || echo "AGECAM-DAEMON pump FAIL not ready"
t0=$(up)
/agecamd --config /agecamd.conf &
daemon=$!
/vivid_ring agecam-vm "$READER_S" /tmp/health &
reader=$!
wait_for "$FACES_MAX_S" test -e /tmp/pump-done || echo "AGECAM-DAEMON faces FAIL not all frames processed"
echo "AGECAM-DAEMON faces-phase-over seconds=$(( $(up) - t0 ))"
# device loss: the output side goes first (its buffers die with the driver)
kill $pump
wait $pump
echo vivid.0 > /sys/bus/platform/drivers/vivid/unbind && echo "AGECAM-DAEMON unbound"
wait_for 30 health_is online=0 || echo "AGECAM-DAEMON loss FAIL camera never reported offline"
echo vivid.0 > /sys/bus/platform/drivers/vivid/bind && echo "AGECAM-DAEMON bound"
wait_for 40 health_is online=1 || echo "AGECAM-DAEMON loss FAIL camera never reported back online"
kill -TERM $daemon
wait $daemon
echo "AGECAM-DAEMON agecamd exit=$?"
wait $reader
echo "AGECAM-DAEMON reader exit=$?"
echo "AGECAM-DAEMON DONE seconds=$(( $(up) - t0 ))"
poweroff -f
