"""Split rules of train/utkdata.py: byte-identical images never straddle the
train/val line, every age is stratified, the split is deterministic, and the
committed split files obey the same rules when the pool is present."""
import csv
import hashlib
import os
import random
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "train"))
import utkdata  # noqa: E402

fails = 0


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += 0 if cond else 1


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


def synthetic_pool(root):
    rng = random.Random(7)
    os.makedirs(os.path.join(root, "images"))
    rows = []
    for i in range(2400):
        age = 1 + i % 60
        name = f"images/{i:04d}.bin"
        payload = bytes(rng.getrandbits(8) for _ in range(32))
        with open(os.path.join(root, name), "wb") as f:
            f.write(payload)
        rows.append((name, age))
        # every 7th image also appears under other names (and once with
        # another age label), as UTKFace's duplicates do
        if i % 7 == 0:
            for k in range(1 + i % 3):
                dup = f"images/{i:04d}_dup{k}.bin"
                with open(os.path.join(root, dup), "wb") as f:
                    f.write(payload)
                rows.append((dup, age if k else min(age + 3, 80)))
    with open(os.path.join(root, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "age", "gender", "race"])
        for name, age in rows:
            w.writerow([name, age, 0, 0])
    return rows


def side_hashes(rows, root):
    return {sha(os.path.join(root, r["path"])) for r in rows}


with tempfile.TemporaryDirectory() as tmp:
    rows = synthetic_pool(tmp)
    tr, va = utkdata.make_split(data=tmp, seed=11, val_fraction=0.15)
    check(len(tr) + len(va) == len(rows), "every image lands on exactly one side")
    check(not side_hashes(tr, tmp) & side_hashes(va, tmp), "no identical image on both sides")
    check(sorted(r["path"] for r in tr + va) == sorted(p for p, _ in rows), "no image lost or doubled")
    tr2, va2 = utkdata.make_split(data=tmp, seed=11, val_fraction=0.15)
    check([r["path"] for r in va] == [r["path"] for r in va2], "same seed, same split")
    # stratified: the validation share of every age is near 15 %
    worst = 0.0
    for age in range(1, 61):
        n_all = sum(1 for r in tr + va if int(r["age"]) == age)
        n_val = sum(1 for r in va if int(r["age"]) == age)
        worst = max(worst, abs(n_val / n_all - 0.15))
    check(worst < 0.1, f"every age near 15 % validation (worst deviation {worst:.3f})")
    check(0.12 < len(va) / (len(tr) + len(va)) < 0.18, f"validation share {len(va) / (len(tr) + len(va)):.3f}")

# committed split files
tr = utkdata.load_split("train")
va = utkdata.load_split("val")
check(not {r["path"] for r in tr} & {r["path"] for r in va}, "committed split: no path on both sides")
if os.path.exists(os.path.join(utkdata.DATA, "labels.csv")):
    check(not side_hashes(tr, utkdata.DATA) & side_hashes(va, utkdata.DATA),
          "committed split: no identical image on both sides (pool present)")
    pool = {r["path"] for r in utkdata.read_labels(os.path.join(utkdata.DATA, "labels.csv"))}
    check(pool == {r["path"] for r in tr} | {r["path"] for r in va}, "committed split covers the pool")
else:
    print("skip committed split against the pool: pool not here")
sys.exit(1 if fails else 0)
