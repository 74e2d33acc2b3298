"""Average the per-image ages of several `agecam eval --predictions` files
(an output ensemble of age models), so that `agecam eval --from-predictions`
scores the average with the same metrics as any single model:

    agecam eval --labels L.csv --root R --model A.acnn --predictions a.csv
    agecam eval --labels L.csv --root R --model B.acnn --predictions b.csv
    /usr/bin/python3 train/avg_predictions.py a.csv b.csv --out ab.csv [--weights 0.7,0.3]
    agecam eval --labels L.csv --from-predictions ab.csv

The age is an expected value, so averaging ages equals averaging the class
distributions. Every file must name the same images; a missing or extra
path is an error, not a silent drop.
"""
import argparse
import csv
import sys

from eval_age import LabelError, read_predictions


def average(tables, weights):
    keys = list(tables[0])
    for i, t in enumerate(tables[1:], 1):
        if set(t) != set(keys):
            raise ValueError("file %d names other images than file 0" % i)
    total = sum(weights)
    return {k: sum(w * t[k] for w, t in zip(weights, tables)) / total for k in keys}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", help="csv files with path,pred columns")
    ap.add_argument("--weights", help="comma-separated, one per file (default equal)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    w = [float(v) for v in a.weights.split(",")] if a.weights else [1.0] * len(a.files)
    if len(w) != len(a.files) or min(w) < 0 or sum(w) <= 0:
        sys.exit("avg_predictions: need one non-negative weight per file, not all zero")
    try:
        avg = average([read_predictions(p) for p in a.files], w)
    except (OSError, LabelError, ValueError) as e:
        sys.exit("avg_predictions: %s" % e)
    with open(a.out, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["path", "pred"])
        for k, v in avg.items():
            out.writerow([k, "%.6f" % v])


if __name__ == "__main__":
    main()
