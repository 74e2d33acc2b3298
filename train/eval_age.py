"""Evaluate an SMLF-Net checkpoint on a labelled folder: the Python twin of
`agecam eval`, with the same CSV rules, metrics and output.

    /usr/bin/python3 train/eval_age.py --checkpoint /var/tmp/agecam-train/full/best.pt \
        --variant full --labels train/split/utk_val.csv --root ../shared/data/utkface [--json]

Preprocessing is the run-time one: the whole image resized with
preprocess.resize_float (float, not rounded), normalised, float32, and by
default the softmax averaged with that of the mirrored input. Training's own
validation rounds its cached chips to uint8, so its MAE can differ slightly.

--from-predictions FILE.csv (columns path,pred) skips the model and only
computes the metrics; it needs neither torch nor the images.
"""
import argparse
import csv
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

MAX_AGE = 150.0
MAX_GROUPS = 32
GROUP_COLS = ("gender", "race")
BANDS = ("0-12", "13-19", "20-39", "40-64", "65+")
CS_MAX = 15
CLIP = 65.0
AGE_RE = re.compile(r"[0-9]+(\.[0-9]+)?\Z")


class LabelError(Exception):
    pass


def read_labels(path):
    """Rows (path, age, {group: label or None}) and the sorted labels of each
    group column present. Same rules and messages as src/age/ac_agecsv.c."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        text = f.read()
    if not text:
        raise LabelError(f"{path}: empty file")
    try:
        records = list(csv.reader(text.splitlines(keepends=True), strict=True))
    except csv.Error as e:
        raise LabelError(f"{path}: bad quoting ({e})")
    # physical line numbers for messages; blank lines are skipped like in C
    lines, n = [], 1
    for r in records:
        lines.append(n)
        n += 1 + sum(field.count("\n") for field in r)
    numbered = [(ln, r) for ln, r in zip(lines, records) if r]
    if not numbered:
        raise LabelError(f"{path}: no header line")
    hl, header = numbered[0][0], [h.strip(" \t") for h in numbered[0][1]]
    cols = {}
    for i, name in enumerate(header):
        if name in ("path", "age") + GROUP_COLS:
            if name in cols:
                raise LabelError(f"{path}: line {hl}: column '{name}' appears twice")
            cols[name] = i
    for need in ("path", "age"):
        if need not in cols:
            raise LabelError(f"{path}: line {hl}: header lacks the '{need}' column")
    need = max(cols.values()) + 1
    rows, labels = [], {g: set() for g in GROUP_COLS if g in cols}
    for ln, r in numbered[1:]:
        if len(r) < need:
            raise LabelError(f"{path}: line {ln}: {len(r)} fields, the header needs at least {need}")
        p = r[cols["path"]]
        if not p:
            raise LabelError(f"{path}: line {ln}: empty path")
        a = r[cols["age"]].strip(" \t")
        if not AGE_RE.match(a) or float(a) > MAX_AGE:
            raise LabelError(f"{path}: line {ln}: bad age '{a}' (want a number of years, 0..{MAX_AGE:.0f})")
        groups = {}
        for g in labels:
            v = r[cols[g]].strip(" \t")
            groups[g] = v or None
            if v:
                labels[g].add(v)
                if len(labels[g]) > MAX_GROUPS:
                    raise LabelError(f"{path}: line {ln}: column '{g}' has more than {MAX_GROUPS} distinct values")
        rows.append((p, float(a), groups))
    if not rows:
        raise LabelError(f"{path}: no data rows after the header")
    # byte order, as strcmp sorts in C
    return rows, {g: sorted(v, key=lambda s: s.encode()) for g, v in labels.items()}


def band(truth):
    return 0 if truth < 13 else 1 if truth < 20 else 2 if truth < 40 else 3 if truth < 65 else 4


class Metrics:
    """Accumulates in float64 in row order, like src/age/ac_agemetrics.c."""

    def __init__(self):
        self.n, self.abs_err, self.abs_err_clip, self.err = 0, 0.0, 0.0, 0.0
        self.cs = [0] * (CS_MAX + 1)
        self.band = [[0, 0.0] for _ in BANDS]
        self.group = {}

    def add(self, truth, pred, groups):
        e = abs(pred - truth)
        self.n += 1
        self.abs_err += e
        self.abs_err_clip += abs(pred - min(truth, CLIP))
        self.err += pred - truth
        for j in range(CS_MAX + 1):
            self.cs[j] += e <= j
        c = self.band[band(truth)]
        c[0] += 1
        c[1] += e
        for g, label in groups.items():
            if label is not None:
                c = self.group.setdefault(g, {}).setdefault(label, [0, 0.0])
                c[0] += 1
                c[1] += e


def ratio(a, n):
    return a / n if n else 0.0


def report(m, labels, meta, as_json, out=sys.stdout):
    groups = {g: [dict(label=l, count=m.group.get(g, {}).get(l, [0, 0.0])[0],
                       mae=ratio(m.group.get(g, {}).get(l, [0, 0.0])[1], m.group.get(g, {}).get(l, [0, 0.0])[0]))
                  for l in ls] for g, ls in labels.items()}
    if as_json:
        d = dict(meta, count=m.n, mae=ratio(m.abs_err, m.n), mae_clip65=ratio(m.abs_err_clip, m.n),
                 bias=ratio(m.err, m.n), cs=[ratio(c, m.n) for c in m.cs],
                 bands=[dict(band=b, count=c[0], mae=ratio(c[1], c[0])) for b, c in zip(BANDS, m.band)],
                 **groups)
        out.write(json.dumps(d) + "\n")
        return
    out.write(f"model      {meta['model']}\n")
    out.write(f"labels     {meta['labels']}\n")
    out.write(f"images     {m.n} evaluated, {meta['failed']} failed, mirror {'n/a' if meta['mirror'] is None else 'on' if meta['mirror'] else 'off'}\n")
    out.write(f"MAE        {ratio(m.abs_err, m.n):.4f}   (raw true age)\n")
    out.write(f"MAE65      {ratio(m.abs_err_clip, m.n):.4f}   (true age clipped to 65)\n")
    out.write(f"bias       {ratio(m.err, m.n):+.4f}   (mean predicted - true)\n")
    out.write("CS(j) %    " + " ".join(f"{j}:{100 * ratio(c, m.n):.1f}" for j, c in enumerate(m.cs)) + "\n")
    for b, c in zip(BANDS, m.band):
        out.write(f"band {b:<6}{c[0]:6d} faces  MAE {ratio(c[1], c[0]):.4f}\n")
    for g, rows in groups.items():
        for r in rows:
            out.write(f"{g} {r['label']:<{10 - len(g)}}{r['count']:6d} faces  MAE {r['mae']:.4f}\n")
    out.write(f"speed      {meta['images_per_s']:.1f} images/s\n")


def load_image(path):
    import numpy as np
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def predict_all(a, rows):
    """Yields (row index, predicted age or None, error message)."""
    import numpy as np
    import torch

    import preprocess
    import smlf
    torch.set_num_threads(a.threads)
    ck = torch.load(a.checkpoint, map_location="cpu")
    variant = a.variant or ck.get("variant")
    if variant not in smlf.VARIANTS:
        sys.exit(f"eval_age: unknown variant {variant!r}; pass --variant")
    n = smlf.checkpoint_classes(ck)
    model = smlf.build(variant, n)
    model.load_state_dict(ck["model"] if "model" in ck else ck)
    model.eval()
    size = model.input_size
    ages = smlf.class_ages(n)
    batch, idx = [], []

    def flush():
        x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).contiguous()
        with torch.no_grad():
            p = torch.softmax(model(x), 1)
            if a.mirror:
                p = 0.5 * (p + torch.softmax(model(torch.flip(x, [3])), 1))
        pred = (p * ages).sum(1).numpy()
        out = list(zip(idx, pred.tolist(), [None] * len(idx)))
        batch.clear()
        idx.clear()
        return out

    for i, (p, _, _) in enumerate(rows):
        try:
            img = load_image(os.path.join(a.root, p))
        except Exception as e:  # unreadable or undecodable: count and move on
            yield i, None, str(e)
            continue
        if img.shape[0] > 32 * size or img.shape[1] > 32 * size:
            yield i, None, "image more than 32x the model input"
            continue
        x = preprocess.normalize(preprocess.resize_float(img, size, size)).astype(np.float32)
        batch.append(x)
        idx.append(i)
        if len(batch) == a.batch:
            yield from flush()
    if batch:
        yield from flush()


def read_predictions(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        r = csv.DictReader(f)
        if not r.fieldnames or "path" not in r.fieldnames or "pred" not in r.fieldnames:
            raise LabelError(f"{path}: header needs 'path' and 'pred' columns")
        return {row["path"]: float(row["pred"]) for row in r}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", help="train_age.py checkpoint (best.pt / last.pt)")
    ap.add_argument("--variant", choices=["full", "small"], help="default: the checkpoint's")
    ap.add_argument("--labels", required=True, help="csv with path,age[,gender,race]")
    ap.add_argument("--root", default=".", help="folder the csv paths are relative to")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-mirror", dest="mirror", action="store_false")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, help="only the first N rows")
    ap.add_argument("--predictions", help="write path,age,pred per image here")
    ap.add_argument("--from-predictions", help="metrics only, from a csv with path,pred")
    a = ap.parse_args()
    if not a.checkpoint and not a.from_predictions:
        ap.error("need --checkpoint or --from-predictions")
    try:
        rows, labels = read_labels(a.labels)
        if a.limit is not None:
            rows = rows[:max(a.limit, 0)]
        given = read_predictions(a.from_predictions) if a.from_predictions else None
    except (OSError, LabelError, ValueError) as e:
        print(f"eval_age: {e}", file=sys.stderr)
        return 1

    if given is not None:
        source = a.from_predictions
        preds = ((i, given.get(p), None if p in given else "no prediction") for i, (p, _, _) in enumerate(rows))
    else:
        source = a.checkpoint
        preds = predict_all(a, rows)
    m, failed, t0 = Metrics(), 0, time.monotonic()
    pf = open(a.predictions, "w", newline="") if a.predictions else None
    pw = csv.writer(pf, lineterminator="\n") if pf else None
    if pw:
        pw.writerow(["path", "age", "pred"])
    # metrics are added in csv order so float sums match the C tool exactly
    results = sorted(preds, key=lambda t: t[0])
    for i, pred, err in results:
        p, truth, groups = rows[i]
        if pred is None:
            print(f"eval_age: {p}: {err}", file=sys.stderr)
            failed += 1
            continue
        m.add(truth, pred, groups)
        if pw:
            pw.writerow([p, f"{truth:g}", f"{pred:.6f}"])
    if pf:
        pf.close()
    dt = time.monotonic() - t0
    meta = dict(model=source, labels=a.labels, mirror=None if given is not None else a.mirror, failed=failed,
                images_per_s=(m.n + failed) / dt if dt > 0 else 0.0)
    report(m, labels, meta, a.json)
    return 0 if m.n else 1


if __name__ == "__main__":
    sys.exit(main())
