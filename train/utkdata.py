"""UTKFace pool: deterministic split and an in-memory cache of resized chips.

Split rules: stratified by age; byte-identical files (same SHA-1) always land
on the same side; the result is a plain file list committed under train/.
"""
import csv
import hashlib
import os
import random

import numpy as np
from PIL import Image

from preprocess import resize_float

DATA = os.environ.get("AGECAM_UTK", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "utkface"))
CACHE = os.environ.get("AGECAM_CACHE", "/var/tmp/agecam-train/cache")
HERE = os.path.dirname(os.path.abspath(__file__))
SPLIT_VAL = os.path.join(HERE, "split", "utk_val.csv")
SPLIT_TRAIN = os.path.join(HERE, "split", "utk_train.csv")
VAL_FRACTION = 0.15


def read_labels(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows.append(r)
    return rows


def make_split(data=DATA, seed=20261128, val_fraction=VAL_FRACTION):
    rows = read_labels(os.path.join(data, "labels.csv"))
    groups = {}
    for r in rows:
        with open(os.path.join(data, r["path"]), "rb") as f:
            h = hashlib.sha1(f.read()).hexdigest()
        groups.setdefault(h, []).append(r)
    # a group is stratified by the age of its first member
    by_age = {}
    for h in sorted(groups):
        by_age.setdefault(int(groups[h][0]["age"]), []).append(h)
    rng = random.Random(seed)
    val, train = [], []
    for age in sorted(by_age):
        hs = by_age[age]
        rng.shuffle(hs)
        n_val = int(round(len(hs) * val_fraction))
        for i, h in enumerate(hs):
            (val if i < n_val else train).extend(groups[h])
    key = lambda r: r["path"]
    return sorted(train, key=key), sorted(val, key=key)


def write_split(rows, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["path", "age", "gender", "race"])
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in w.fieldnames})


def load_split(which):
    return read_labels(SPLIT_TRAIN if which == "train" else SPLIT_VAL)


def cached_arrays(which, size, data=DATA):
    """uint8 N x size x size x 3 images (rounded after the float resize) and
    int ages; cached as .npz outside the work tree."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"utk_{which}_{size}.npz")
    rows = load_split(which)
    if os.path.exists(path):
        z = np.load(path)
        if len(z["ages"]) == len(rows):
            return z["images"], z["ages"]
    imgs = np.zeros((len(rows), size, size, 3), np.uint8)
    ages = np.zeros(len(rows), np.int32)
    for i, r in enumerate(rows):
        im = np.asarray(Image.open(os.path.join(data, r["path"])).convert("RGB"))
        imgs[i] = np.clip(np.rint(resize_float(im, size, size)), 0, 255).astype(np.uint8)
        ages[i] = int(r["age"])
    np.savez(path, images=imgs, ages=ages)
    return imgs, ages


if __name__ == "__main__":
    tr, va = make_split()
    write_split(tr, SPLIT_TRAIN)
    write_split(va, SPLIT_VAL)
    print(f"train {len(tr)} val {len(va)}")
