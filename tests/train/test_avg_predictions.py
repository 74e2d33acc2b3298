"""train/avg_predictions.py on hand-computed cases: equal and given weights,
and files that name different images rejected with a message."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "train", "avg_predictions.py")


def write(d, name, rows):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write("path,age,pred\n")
        for path, pred in rows:
            f.write("%s,30,%s\n" % (path, pred))
    return p


def run(args):
    return subprocess.run([sys.executable, TOOL] + args, capture_output=True, text=True)


def read(p):
    with open(p) as f:
        lines = f.read().split()
    assert lines[0] == "path,pred", lines
    return {k: float(v) for k, v in (ln.split(",") for ln in lines[1:])}


with tempfile.TemporaryDirectory() as d:
    a = write(d, "a.csv", [("x.jpg", 10), ("y.jpg", 40)])
    b = write(d, "b.csv", [("y.jpg", 20), ("x.jpg", 30)])  # other order
    out = os.path.join(d, "o.csv")
    r = run([a, b, "--out", out])
    assert r.returncode == 0, r.stderr
    assert read(out) == {"x.jpg": 20.0, "y.jpg": 30.0}, read(out)
    r = run([a, b, "--weights", "3,1", "--out", out])
    assert r.returncode == 0, r.stderr
    got = read(out)
    assert abs(got["x.jpg"] - 15.0) < 1e-6 and abs(got["y.jpg"] - 35.0) < 1e-6, got
    c = write(d, "c.csv", [("x.jpg", 1)])
    r = run([a, c, "--out", out])
    assert r.returncode != 0 and "other images" in r.stderr, (r.returncode, r.stderr)
    r = run([a, b, "--weights", "1", "--out", out])
    assert r.returncode != 0 and "weight" in r.stderr, r.stderr
print("avg_predictions: ok")
