"""OpenCV DNN side of bench/compare.py: 1 thread, default (OpenCV) backend,
CPU target; RUNS timed runs after a warm-up; prints "raw_ms t1 t2 ..."."""
import sys
import time

import cv2
import numpy as np

model, runs, side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cv2.setNumThreads(1)
net = cv2.dnn.readNetFromONNX(model)
net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
x = ((np.arange(3 * side * side) * 7919) % 255 / 127.5 - 1).astype(np.float32).reshape(1, 3, side, side)
net.setInput(x)
out = net.forward()  # warm-up
t = []
for _ in range(runs):
    t0 = time.perf_counter()
    net.setInput(x)
    out = net.forward()
    t.append((time.perf_counter() - t0) * 1e3)
print("raw_ms " + " ".join(f"{v:.4f}" for v in t))
print("out " + " ".join(f"{v:.6g}" for v in out.ravel()[:4]))
