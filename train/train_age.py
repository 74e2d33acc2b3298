"""Train SMLF-Net on the UTKFace split. Resumable; checkpoints every epoch.

    python3 train/train_age.py --variant full --epochs 12 --out /var/tmp/agecam-train/full

Loss: label-distribution learning (KL to a Gaussian of sigma 2 years around
the true age, 65+ folded into the last class) plus an L1 term on the expected
age (a mean loss), on top of the paper's 66-way softmax head. --classes N
trains a wider head (ages 0..N-2 and N-1+), e.g. 101 for 0..99 and 100+;
--init from a narrower checkpoint widens its head (smlf.widen_head).
--aux66 with a wider head also trains the paper's 66-class head on the same
features (same loss, summed), so one run improves both models: best.pt holds
the wide net, best66.pt the same backbone with the 66-class head.
--teacher CKPT distils a trained (larger) model into this one: the teacher's
mirror-averaged class distribution on each un-augmented training image is
computed once (cached outside the work tree) and the loss becomes
(1 - kd) x (LDL + mean loss) + kd x KL(teacher || student). The truth
still enters through the first term; the teacher reshapes the targets.
With --aux66 the 66-class head is distilled the same way, from the
teacher's distribution folded to 66 classes (fold_probs), or from
--teacher66's own 66-class heads. --teacher A,B,C distils an ensemble: the
mean of their distributions.
--ema D keeps an exponential moving average of the weights (and BN
statistics), decay D per step; validation, best.pt and best66.pt then use
the average, which smooths the last epochs' noise the way a soup of their
checkpoints does (train/soup.py), without storing them.
"""
import argparse
import hashlib
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import smlf
import utkdata
from preprocess import MEAN, SCALE


def ldl_targets(ages, n=smlf.NUM_CLASSES, sigma=2.0):
    a = ages.clamp(max=n - 1).float()[:, None]
    c = torch.arange(n, dtype=torch.float32)[None, :]
    t = torch.exp(-0.5 * ((c - a) / sigma) ** 2)
    return t / t.sum(1, keepdim=True)


def to_input(u8):
    x = torch.from_numpy(u8).float().permute(0, 3, 1, 2)
    m = torch.tensor(MEAN)[None, :, None, None]
    s = torch.tensor(SCALE)[None, :, None, None]
    return (x - m) * s


def gaussian_blur(x, sigma):
    k = 5
    r = torch.arange(k, dtype=torch.float32) - k // 2
    g = torch.exp(-0.5 * (r / sigma) ** 2)
    g = g / g.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (2, 2, 0, 0), mode="reflect"), g.view(1, 1, 1, k).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, 2, 2), mode="reflect"), g.view(1, 1, k, 1).repeat(c, 1, 1, 1), groups=c)


def augment(x, gen):
    """Paper's augmentations on a normalised batch: rotation (with small scale
    and shift jitter), mirror, brightness within limits, grayscale, blur."""
    b = x.shape[0]
    ang = (torch.rand(b, generator=gen) * 2 - 1) * math.radians(12)
    sc = 1 + (torch.rand(b, generator=gen) * 2 - 1) * 0.08
    tx = (torch.rand(b, generator=gen) * 2 - 1) * 0.06
    ty = (torch.rand(b, generator=gen) * 2 - 1) * 0.06
    flip = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1),
                         torch.stack([sin * flip, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # brightness: multiply pixel value (in 0..255 space) by 0.65..1.35
    bright = 0.65 + torch.rand(b, 1, 1, 1, generator=gen) * 0.7
    x = ((x + 1) * bright - 1).clamp(-1, 1)
    gray = torch.rand(b, generator=gen) < 0.1
    if gray.any():
        y = (0.299 * x[gray, 0] + 0.587 * x[gray, 1] + 0.114 * x[gray, 2])[:, None]
        x[gray] = y.expand(-1, 3, -1, -1)
    blur = torch.rand(b, generator=gen) < 0.2
    if blur.any():
        x[blur] = gaussian_blur(x[blur], 0.5 + float(torch.rand(1, generator=gen)) * 1.0)
    return x


def mixup(x, alpha, gen):
    """Blends each image with another of the batch: (x', perm, lam), where
    x' = lam * x + (1 - lam) * x[perm] and lam ~ Beta(alpha, alpha), one per
    batch; the loss is then lam * L(labels) + (1 - lam) * L(labels[perm]).
    alpha 0: x unchanged, lam 1."""
    if alpha <= 0:
        return x, torch.arange(len(x)), 1.0
    # torch's Beta takes no generator: draw it from one seeded by gen
    lam = float(np.random.default_rng(int(torch.randint(0, 2 ** 31 - 1, (1,), generator=gen))).beta(alpha, alpha))
    perm = torch.randperm(len(x), generator=gen)
    return lam * x + (1 - lam) * x[perm], perm, lam


def metrics(pred, ages):
    err = np.abs(pred - ages)
    return dict(mae=float(err.mean()), mae_clip=float(np.abs(pred - np.minimum(ages, 65)).mean()),
                cs5=float((err <= 5).mean()))


def evaluate(model, imgs, ages, batch=256, mirror=True, aux=None):
    """Validation metrics of the model's head, and of aux (a second head on
    the same features) under keys suffixed 66."""
    heads = [model.fc] + ([aux] if aux is not None else [])
    model.eval()
    preds = [[] for _ in heads]
    with torch.no_grad():
        for i in range(0, len(imgs), batch):
            x = to_input(imgs[i:i + batch]).contiguous(memory_format=torch.channels_last)
            f = model.features(x)
            fm = model.features(torch.flip(x, [3])) if mirror else None
            for h, out in zip(heads, preds):
                p = torch.softmax(h(f), 1)
                if mirror:
                    p = 0.5 * (p + torch.softmax(h(fm), 1))
                out.append((p * smlf.class_ages(h.out_features)).sum(1))
    ev = metrics(torch.cat(preds[0]).numpy(), ages)
    if aux is not None:
        ev.update({k + "66": v for k, v in metrics(torch.cat(preds[1]).numpy(), ages).items()})
    return ev


def age_loss(logits, y, n, mean_loss, weight=None):
    """LDL (KL to a Gaussian around the age) plus an L1 on the expected age:
    the batch mean, or with weight (N,) summing to 1 the weighted sum."""
    logp = F.log_softmax(logits, 1)
    kl = F.kl_div(logp, ldl_targets(y, n), reduction="none").sum(1)
    exp = (logp.exp() * smlf.class_ages(n)).sum(1)
    per = kl + mean_loss * (exp - y.clamp(max=n - 1).float()).abs()
    return per.mean() if weight is None else (weight * per).sum()


def distil(loss, logits, target, kd):
    """A head's loss on the truth blended with KL(teacher || student)."""
    return (1 - kd) * loss + kd * F.kl_div(F.log_softmax(logits, 1), target, reduction="batchmean")


class Ema:
    """Moving average of a set of modules' state (parameters and buffers).
    The decay ramps up from 0 so the first steps do not freeze the start."""

    def __init__(self, modules, decay):
        self.modules, self.decay, self.steps = modules, decay, 0
        self.state = [{k: v.detach().clone() for k, v in m.state_dict().items()} for m in modules]

    def update(self):
        self.steps += 1
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))
        with torch.no_grad():
            for m, st in zip(self.modules, self.state):
                for k, v in m.state_dict().items():
                    if v.is_floating_point():
                        st[k].mul_(d).add_(v.detach(), alpha=1 - d)
                    else:
                        st[k].copy_(v)

    def swap(self):
        """Exchange the live weights and the average (call twice to undo)."""
        for m, st in zip(self.modules, self.state):
            live = {k: v.detach().clone() for k, v in m.state_dict().items()}
            m.load_state_dict(st)
            st.update(live)


def fold_probs(p, n):
    """A class distribution folded to n classes: the mass of every age from
    n-1 on goes to the open-ended last class (101 -> 66: 65+)."""
    return torch.cat([p[:, :n - 1], p[:, n - 1:].sum(1, keepdim=True)], 1)


def teacher_probs(path, images):
    """Class distribution of the teacher checkpoint on each training image
    (mirror-averaged, no augmentation), cached next to the image arrays."""
    s = torch.load(path)
    n = smlf.checkpoint_classes(s)
    # keyed by the file's bytes: runs all name their files best.pt / best66.pt,
    # and two of them can share a variant and an epoch
    with open(path, "rb") as f:
        digest = hashlib.sha1(f.read()).hexdigest()[:16]
    key = f"{os.path.basename(path)}-{digest}-{s.get('variant')}-{len(images)}-{n}"
    cache = os.path.join(utkdata.CACHE, "teacher-" + key + ".npy")
    if os.path.exists(cache):
        return torch.from_numpy(np.load(cache))
    t = smlf.build(s["variant"], n)
    t.load_state_dict(s["model"])
    t.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), 128):
            x = to_input(images[i:i + 128])
            out.append(0.5 * (torch.softmax(t(x), 1) + torch.softmax(t(torch.flip(x, [3])), 1)))
    p = torch.cat(out).float()
    np.save(cache + ".tmp.npy", p.numpy())
    os.replace(cache + ".tmp.npy", cache)
    return p


def ensemble_probs(paths, classes, tr_y):
    """The mean of the teachers' distributions (each at its own input size).
    A wider teacher is folded to the student's 66 classes; any other class
    mismatch is an error."""
    total = None
    for path in paths:
        tv = torch.load(path).get("variant")
        t_x, t_y = utkdata.cached_arrays("train", smlf.VARIANTS[tv]["input_size"])
        if not np.array_equal(t_y, tr_y):
            raise SystemExit(f"teacher {path}: its training arrays differ from the student's")
        p = teacher_probs(path, t_x)
        del t_x
        if classes == smlf.NUM_CLASSES and p.shape[1] > classes:
            p = fold_probs(p, classes)
        if p.shape[1] != classes:
            raise SystemExit(f"teacher {path} has {p.shape[1]} classes, the student {classes}")
        total = p if total is None else total + p
    return total / len(paths)


def targets66(teacher66, soft, tr_y):
    """The 66-class head's distillation targets under --aux66: the mean of the
    --teacher66 checkpoints' distributions when given, else the wide targets
    folded to 66 classes (None without any teacher)."""
    if teacher66:
        return ensemble_probs(teacher66.split(","), smlf.NUM_CLASSES, tr_y)
    return fold_probs(soft, smlf.NUM_CLASSES) if soft is not None else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", choices=list(smlf.VARIANTS), required=True)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--wd", type=float, default=5e-5)
    ap.add_argument("--mean-loss", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--classes", type=int, default=smlf.NUM_CLASSES,
                    help="age classes: 66 is the paper's head (0..64, 65+); more widens it")
    ap.add_argument("--aux66", action="store_true",
                    help="with --classes > 66: also train a 66-class head (best66.pt)")
    ap.add_argument("--init", help="start from this checkpoint's weights (e.g. train/checkpoints/"
                    "smlf-full-best.pt) with a fresh optimizer and schedule; ignored when --out "
                    "already holds last.pt (resume)")
    ap.add_argument("--init66", help="with --aux66 and a wide --init: take the 66-class head from this "
                    "checkpoint (same backbone, e.g. the best66.pt of the run that made --init)")
    ap.add_argument("--teacher", help="distil this checkpoint (any variant, same class count, or "
                    "wider for a 66-class student); a comma-separated list distils the mean of "
                    "their distributions")
    ap.add_argument("--teacher66", help="with --aux66: distil the 66-class head from these (comma-"
                    "separated, mean) instead of from --teacher folded to 66 classes; lets the "
                    "paper's head learn from teachers' own 66-class heads")
    ap.add_argument("--kd", type=float, default=0.5, help="weight of the teacher term (with --teacher or --teacher66)")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="validate and keep a moving average of the weights with this decay per "
                    "step (e.g. 0.999); 0 = off")
    ap.add_argument("--mixup", type=float, default=0.0,
                    help="blend image pairs with Beta(a, a) weights and their losses likewise "
                    "(mixup); 0 = off")
    a = ap.parse_args()
    if a.teacher66 and not a.aux66:
        raise SystemExit("--teacher66 needs --aux66")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    size = smlf.VARIANTS[a.variant]["input_size"]
    tr_x, tr_y = utkdata.cached_arrays("train", size)
    va_x, va_y = utkdata.cached_arrays("val", size)
    soft = ensemble_probs(a.teacher.split(","), a.classes, tr_y) if a.teacher else None
    soft66 = targets66(a.teacher66, soft, tr_y) if a.aux66 else None

    # age balancing: sample each image with weight 1/sqrt(count of its age),
    # which lifts the thin teens and elderly without drowning the 20s
    counts = np.bincount(np.minimum(tr_y, 100), minlength=101).astype(np.float64)
    w = 1.0 / np.sqrt(counts[np.minimum(tr_y, 100)])
    w = torch.tensor(w / w.sum())

    model = smlf.build(a.variant, a.classes).to(memory_format=torch.channels_last)
    aux = torch.nn.Linear(model.fc.in_features, smlf.NUM_CLASSES) if a.aux66 else None
    params = list(model.parameters()) + (list(aux.parameters()) if aux is not None else [])
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=a.wd)
    steps_per_epoch = len(tr_x) // a.batch
    total = steps_per_epoch * a.epochs
    warm = steps_per_epoch // 2

    def lr_at(step):
        if step < warm:
            return a.lr * (step + 1) / warm
        return a.lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    start_epoch, best, best66, saved_ema = 0, None, None, None
    ck = os.path.join(a.out, "last.pt")
    if os.path.exists(ck):
        s = torch.load(ck)
        saved_ema = (s["ema"], s["ema_steps"]) if s.get("ema") is not None else None
        model.load_state_dict(s["model"])
        if aux is not None:
            aux.load_state_dict(s["aux"])
        opt.load_state_dict(s["opt"])
        start_epoch, best = s["epoch"] + 1, s.get("best")
        best66 = s.get("best66")
        print(f"resumed from {ck} at epoch {start_epoch}", flush=True)
    elif a.init:
        s = torch.load(a.init)
        if s.get("variant", a.variant) != a.variant:
            raise SystemExit(f"--init {a.init} is a {s['variant']} checkpoint, not {a.variant}")
        model.load_state_dict(smlf.widen_head(s["model"], a.classes))
        if aux is not None and smlf.checkpoint_classes(s) == smlf.NUM_CLASSES:
            aux.load_state_dict({"weight": s["model"]["fc.weight"], "bias": s["model"]["fc.bias"]})
        if aux is not None and a.init66:
            s66 = torch.load(a.init66)["model"]
            if any(not torch.equal(v, s66[k]) for k, v in s["model"].items() if not k.startswith("fc.")):
                raise SystemExit(f"--init66 {a.init66} has another backbone than --init {a.init}")
            aux.load_state_dict({"weight": s66["fc.weight"], "bias": s66["fc.bias"]})
        print(f"initialised from {a.init}", flush=True)
    ema = Ema([model] + ([aux] if aux is not None else []), a.ema) if a.ema > 0 else None
    if ema is not None and saved_ema is not None:
        ema.state, ema.steps = saved_ema
    log = open(os.path.join(a.out, "log.jsonl"), "a")
    for epoch in range(start_epoch, a.epochs):
        gen = torch.Generator().manual_seed(a.seed * 1000 + epoch)
        model.train()
        idx = torch.multinomial(w, steps_per_epoch * a.batch, replacement=True, generator=gen).numpy()
        t0, tot, n = time.time(), 0.0, 0
        for s in range(steps_per_epoch):
            step = epoch * steps_per_epoch + s
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            bi = idx[s * a.batch:(s + 1) * a.batch]
            x = augment(to_input(tr_x[bi]), gen).contiguous(memory_format=torch.channels_last)
            x, perm, lam = mixup(x, a.mixup, gen)
            f = model.features(x)
            logits = model.fc(f)
            la = aux(f) if aux is not None else None
            loss = 0.0
            for rows, wt in ((bi, lam), (bi[perm.numpy()], 1 - lam)):
                if wt == 0:
                    continue
                y = torch.from_numpy(tr_y[rows]).long()
                lo = age_loss(logits, y, a.classes, a.mean_loss)
                if soft is not None:
                    lo = distil(lo, logits, soft[torch.from_numpy(rows)], a.kd)
                if aux is not None:
                    l66 = age_loss(la, y, smlf.NUM_CLASSES, a.mean_loss)
                    if soft66 is not None:
                        l66 = distil(l66, la, soft66[torch.from_numpy(rows)], a.kd)
                    lo = lo + l66
                loss = loss + wt * lo
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema is not None:
                ema.update()
            tot += float(loss) * len(bi)
            n += len(bi)
            if s % 50 == 0:
                print(f"  epoch {epoch} step {s}/{steps_per_epoch} loss {tot / n:.4f} "
                      f"{n / (time.time() - t0):.1f} img/s", flush=True)
        dt = time.time() - t0
        raw = {}
        if ema is not None:  # the live weights' figures are logged beside the average's
            raw = {"live_" + k: v for k, v in evaluate(model, va_x, va_y, aux=aux).items()}
            ema.swap()
        ev = evaluate(model, va_x, va_y, aux=aux)
        rec = dict(epoch=epoch, loss=tot / n, secs=dt, img_s=n / dt, lr=lr_at(step), **ev, **raw)
        print(json.dumps(rec), flush=True)
        log.write(json.dumps(rec) + "\n")
        log.flush()
        if best is None or ev["mae"] < best:
            best = ev["mae"]
            torch.save({"model": model.state_dict(), "epoch": epoch, "variant": a.variant, "val": ev,
                        "classes": a.classes},
                       os.path.join(a.out, "best.pt"))
        if aux is not None and (best66 is None or ev["mae66"] < best66):
            best66 = ev["mae66"]
            sd = dict(model.state_dict(), **{"fc." + k: v for k, v in aux.state_dict().items()})
            torch.save({"model": sd, "epoch": epoch, "variant": a.variant, "classes": smlf.NUM_CLASSES,
                        "val": {k[:-2]: v for k, v in ev.items() if k.endswith("66")}},
                       os.path.join(a.out, "best66.pt"))
        if ema is not None:
            ema.swap()
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch, "best": best,
                    "best66": best66, "aux": aux.state_dict() if aux is not None else None,
                    "variant": a.variant, "args": vars(a),
                    "ema": ema.state if ema is not None else None,
                    "ema_steps": ema.steps if ema is not None else 0}, ck + ".tmp")
        os.replace(ck + ".tmp", ck)


if __name__ == "__main__":
    main()
