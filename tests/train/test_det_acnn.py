"""det_export.load_acnn inverts the export: a detector with non-trivial BN
statistics, exported to .acnn and read back into a fresh network, computes
the same outputs (BN folded, then frozen as identity + bias), and exporting
the loaded network again gives the same weights. A file of another
architecture is refused. Needs torch (python3-torch); meson runs it only then."""
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train"))
import acnn  # noqa: E402
import acnn_read  # noqa: E402
import det_export  # noqa: E402
import det_model  # noqa: E402
from det_fixture import random_detector  # noqa: E402

src = random_detector(5)
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "det.acnn")
    w = det_export.build_graph(src, 64, 48)
    w.meta("arch", "pyramidbox-lite")
    first = w.save(path)
    dst = det_model.Detector()
    det_export.load_acnn(dst, path)
    dst.eval()
    x = torch.randn(2, 3, 48, 64)
    with torch.no_grad():
        ya, yb = src(x), dst(x)
    diff = max((a - b).abs().max().item() for a, b in zip(ya, yb))
    spread = min(a.std().item() for a in ya)
    print(f"outputs differ by {diff:.2e} (their spread {spread:.2e})")
    assert spread > 1e-2 and diff < 1e-4 * max(1.0, spread)
    again = det_export.build_graph(dst, 64, 48)
    wa = acnn_read.read(path)["weights"]
    wb = np.concatenate(again.blob)
    print(f"re-exported weights differ by {np.abs(wa - wb).max():.2e}")
    assert wa.shape == wb.shape and np.abs(wa - wb).max() < 1e-5

    other = acnn.AcnnWriter(8, 8, 3)
    other.output(other.act(0, "relu"), "y")
    other.meta("arch", "something-else")
    bad = os.path.join(tmp, "other.acnn")
    other.save(bad)
    try:
        det_export.load_acnn(det_model.Detector(), bad)
        raise SystemExit("a non-detector file must be refused")
    except acnn_read.AcnnError as e:
        print("refused:", e)
    with open(path, "r+b") as f:
        f.seek(200)
        f.write(b"\xff")
    try:
        acnn_read.read(path)
        raise SystemExit("a corrupted file must be refused")
    except acnn_read.AcnnError as e:
        print("refused:", e)
print("ok")
