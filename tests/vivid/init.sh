#!/bin/busybox sh
# PID 1 of the vivid test VM: load vivid, run the checks, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /tmp
echo "AGECAM-VIVID boot kernel=$(uname -r)"
for m in $(cat /modules/order); do
  insmod /modules/$m.ko || echo "AGECAM-VIVID insmod FAIL $m"
done
# a plain webcam-type capture node only, at /dev/video0
insmod /modules/vivid.ko n_devs=1 node_types=0x1 num_inputs=1 input_types=0x0 vid_cap_nr=0 \
  || echo "AGECAM-VIVID insmod FAIL vivid"
/vivid_check formats
/vivid_check buferror
/vivid_check colorimetry
/vivid_check slow
/vivid_check capture --list
/vivid_check capture --list --json
/vivid_check capture --source v4l2:/dev/video0 --frames 5 --out /tmp/frames --format NV12
n=$(ls /tmp/frames | wc -l)
[ "$n" = 5 ] && echo "AGECAM-VIVID capture-frames PASS saved=$n" || echo "AGECAM-VIVID capture-frames FAIL saved=$n"
/vivid_check stall
/vivid_check loss
rmmod vivid || echo "AGECAM-VIVID rmmod FAIL vivid"
# HDMI output /dev/video1 looped back into HDMI input /dev/video0
insmod /modules/vivid.ko n_devs=1 node_types=0x101 num_inputs=1 input_types=0x3 num_outputs=1 \
  output_types=0x1 vid_cap_nr=0 vid_out_nr=1 || echo "AGECAM-VIVID insmod FAIL vivid-loop"
/vivid_check loop /face.jpg
/vivid_check feed dir:/feed
echo "AGECAM-VIVID DONE"
poweroff -f
