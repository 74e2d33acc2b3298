#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/<target>/).
Every seed is made here from scratch (synthetic pixels, hand-written text),
never taken from training data. Run from anywhere: /usr/bin/python3 mkseeds.py (Debian python3-pil)"""
import io
import os
import struct

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def picture(w, h, mode='RGB'):
    im = Image.new('RGB', (w, h))
    im.putdata([((x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1), (x * y) & 255)
                for y in range(h) for x in range(w)])
    return im.convert(mode) if mode != 'RGB' else im


def encode(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


# ---- config files ----
put('config', 'defaults.conf', open(os.path.join(HERE, '..', '..', 'conf', 'agecamd.conf')).read())
put('config', 'small.conf', """[camera]
source = dir:/tmp/frames
width = 320
height = 240
fps = 20
loop = yes
id = 0x10
[detect]
backend = NONE
score_threshold = 0.35
[ring]
name = cam1
capacity = 1024
mode = 0640
group = video
""")
put('config', 'quoted.conf', """; comment
[camera]
  source = "  file:/a b#c;d.mp4  "
format = "MJPG,YUYV"
[ age ]
model = ""
backend = scalar
threads = 16
mirror = off
[track]
fusion_tau = 1e-1
range_low = 0.5
range_high = .5
update_interval = 3600
[debug]
save_crops = true
crops_dir = /tmp/crops
stall_stage = detect
stall_after = 1000000
""")
put('config', 'errors.conf', "[camera]\nwidth = 640\nheight = 0\n[nope]\nx\n= 1\n[log]\nlevel = debug\n")

# ---- command lines (argv[1..] separated by NUL) ----
def argv(*a):
    return '\0'.join(a)


put('cmdline', 'basic', argv('-c', '/etc/agecam/agecamd.conf', '--source', 'dir:/tmp/f', '--threads', '2'))
put('cmdline', 'set', argv('--set', 'camera.width=320', '-s', 'camera.height=240', '--set',
                           'ring.capacity=16', '--log-level=debug', '--print-config'))
put('cmdline', 'demo', argv('--demo', '--check-config', '--ring', 'x', '--model', '/m.acnn',
                            '--detector-model', 'd.acnn', '--debug-stall-stage', 'age'))
put('cmdline', 'bad', argv('--set', 'camera.fps', '--nope', '-x', 'stray', '-V', '-h'))

# ---- still images (JPEG, PNG) ----
put('image', 'rgb.jpg', encode(picture(24, 16), 'JPEG', quality=80))
put('image', 'progressive.jpg', encode(picture(17, 9), 'JPEG', quality=60, progressive=True))
put('image', 'gray.jpg', encode(picture(8, 8, 'L'), 'JPEG'))
put('image', 'cmyk.jpg', encode(picture(8, 8, 'CMYK'), 'JPEG'))
put('image', 'rgb.png', encode(picture(12, 7), 'PNG'))
put('image', 'rgba.png', encode(picture(5, 5, 'RGBA'), 'PNG'))
put('image', 'palette.png', encode(picture(9, 9, 'P'), 'PNG', transparency=3))
put('image', 'gray1.png', encode(picture(10, 3, '1'), 'PNG'))
put('image', 'graya.png', encode(picture(4, 4, 'LA'), 'PNG'))
put('image', 'gray16.png', encode(picture(6, 6, 'L').convert('I').point(lambda v: v * 257).convert('I;16'), 'PNG'))
put('image', 'interlaced.png', encode(picture(11, 13), 'PNG', interlace=1))

# ---- camera MJPEG frames ----
for sub, name in ((2, '420'), (1, '422'), (0, '444')):
    put('mjpeg', 'yuv%s.jpg' % name, encode(picture(32, 24), 'JPEG', quality=75, subsampling=sub))
put('mjpeg', 'gray.jpg', encode(picture(16, 16, 'L'), 'JPEG'))
put('mjpeg', 'padded.jpg', encode(picture(64, 48), 'JPEG', quality=50) + b'\0' * 37)
put('mjpeg', 'odd.jpg', encode(picture(33, 17), 'JPEG', quality=90, subsampling=2))

# ---- ring segments (include/agecam/ring.h, ABI 1) ----
MAGIC = 0x47524d4143454741


def segment(cap, write_seq, hs=128, slots=None, state=1):
    h = struct.pack('<QIIIIQiIqQQQ', MAGIC, 1, hs, 128, cap, 0x1234, 4242, state,
                    1700000000 * 10**9, 5 * 10**9, 0, write_seq)
    h += b'\0' * (hs - len(h))
    body = bytearray(cap * 128)
    for s in (slots if slots is not None else range(max(1, write_seq - cap + 1), write_seq + 1)):
        i = (s - 1) % cap
        rec = struct.pack('<QqqQHHHH', s << 1, 1700000000 * 10**9 + s, s * 1000, s // 3 + 1,
                          1 + s % 4, 0, 1, 0)
        rec += struct.pack('<fffffffffI', 10, 20, 30, 40, 33.5, 4.0, 28, 39, 0.8, s)
        rec += b'\0' * (128 - len(rec))
        body[i * 128:(i + 1) * 128] = rec
    return h + bytes(body)


put('ring', 'empty4', segment(4, 0))
put('ring', 'full16', segment(16, 16))
put('ring', 'lapped8', segment(8, 29))
put('ring', 'busy4', segment(4, 3, slots=[1, 2]) )
put('ring', 'hdr192_2', segment(2, 5, hs=192))
put('ring', 'closed32', segment(32, 40, state=2))

# ---- model files (models/FORMAT.md), written by the exporter's own writer ----
# Tiny graphs (inputs of a few pixels, a handful of channels) so the loader
# target runs thousands of inputs a second; together they use every op, every
# activation, both upsample modes, the optional META section and each kind.
import sys  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(HERE, '..', '..', 'train'))
import acnn  # noqa: E402

rng = np.random.RandomState(7)


def r(*shape):
    return rng.uniform(-1, 1, shape).astype(np.float32)


def model(name, w, build):
    build(w)
    put('nn_load', name, w.tobytes())


def convs(w):
    x = w.conv_raw(0, r(4, 3, 3, 3), r(4), stride=2, pad=1, act='leaky', alpha=0.1, bn_folded=True)
    x = w.conv_raw(x, r(4, 1, 3, 3), None, pad=(1, 0), groups=4, act='relu')
    x = w.maxpool(x, 2, 1, 0)
    w.output(w.conv_raw(x, r(2, 4, 1, 1), r(2), act='sigmoid'), 'out')


def mixer(w):
    a = w.conv_raw(0, r(3, 3, 1, 1), r(3))
    b = w.act(a, 'leaky', 0.2)
    s = w.add(a, b, act='relu')
    c = w.concat(s, w.se_raw(b, r(2, 3), r(2), r(3, 2), r(3)))
    p = w.maxpool(c, 2)
    u = w.upsample(p, like=c)
    w.output(w.upsample(w.add(u, c), factor=(2, 1)), 'up')
    w.output(w.gap(c, act='sigmoid'), 'pooled')


def age(w):
    x = w.conv_raw(0, r(2, 3, 3, 3), r(2), stride=2, pad=1, act='relu')
    w.output(w.softmax(w.fc_raw(x, r(5, 2 * 3 * 2), r(5))), 'logits')
    w.meta('variant', 'fuzz')
    w.meta('classes', '5')


def detector(w):
    x = w.conv_raw(0, r(4, 3, 3, 3), r(4), stride=2, pad=1, act='relu')
    w.output(w.conv_raw(x, r(2, 4, 1, 1), r(2)), 'cls')
    w.output(w.conv_raw(x, r(4, 4, 1, 1), r(4)), 'box')
    w.meta('int8.1', '2.5')  # both 1x1 heads in int8 (src/nn/ac_nn_q8.c)
    w.meta('int8.2', '0.75')


model('convs.acnn', acnn.AcnnWriter(8, 7, 3), convs)
model('mixer.acnn', acnn.AcnnWriter(4, 4, 3, mean=(1, 2, 3), scale=(0.5, 0.5, 0.5)), mixer)
model('age5.acnn', acnn.AcnnWriter(4, 6, 3, num_classes=5, kind=acnn.KIND_AGE), age)
model('det.acnn', acnn.AcnnWriter(8, 6, 3, kind=acnn.KIND_DETECTOR), detector)
