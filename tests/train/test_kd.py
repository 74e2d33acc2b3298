"""train_age.teacher_probs: the distillation targets are the teacher's
mirror-averaged class distribution on the un-augmented images, computed once
and read back from the cache unchanged; the 66-class head's targets are a
wide teacher's folded (fold_probs) or --teacher66's own (targets66); a list
of teachers gives the mean of their distributions (ensemble_probs). Needs
torch; meson runs it only then."""
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train"))
import smlf  # noqa: E402
import train_age  # noqa: E402
import utkdata  # noqa: E402

torch.manual_seed(5)
rng = np.random.default_rng(5)
with tempfile.TemporaryDirectory() as tmp:
    utkdata.CACHE = tmp
    # the committed small model: a random net's features are near zero, so
    # its output would not show whether the mirror was averaged
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train",
                       "checkpoints", "smlf-small-best.pt")
    net = smlf.build("small").eval()
    net.load_state_dict(torch.load(src)["model"])
    ck = os.path.join(tmp, "teacher.pt")
    torch.save({"model": net.state_dict(), "variant": "small", "epoch": 3}, ck)
    imgs = rng.integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    # an asymmetric image, so a missing or wrong mirror shows
    imgs[0, :, :32] = 255
    imgs[0, :, 32:] = 0

    p = train_age.teacher_probs(ck, imgs)
    assert p.shape == (5, smlf.NUM_CLASSES), p.shape
    assert torch.allclose(p.sum(1), torch.ones(5), atol=1e-5)
    with torch.no_grad():
        x = train_age.to_input(imgs)
        plain = torch.softmax(net(x), 1)
        mirror = torch.softmax(net(torch.flip(x, [3])), 1)
    ref = 0.5 * (plain + mirror)
    d = (p - ref).abs().max().item()
    print(f"teacher targets differ from the reference by {d:.2e}")
    assert d < 1e-6
    assert (p[0] - plain[0]).abs().max().item() > 1e-6, "mirror averaging had no effect"
    cached = [f for f in os.listdir(tmp) if f.startswith("teacher-") and f.endswith(".npy")]
    assert len(cached) == 1, cached

    # a second call reads the cache, not the network: a marked cache file
    # comes back as it is
    cf = os.path.join(tmp, cached[0])
    np.save(cf, np.full((5, smlf.NUM_CLASSES), 0.25, np.float32))
    assert torch.all(train_age.teacher_probs(ck, imgs) == 0.25), "the cache was not read"
    np.save(cf, p.numpy())
    again = train_age.teacher_probs(ck, imgs)
    assert torch.equal(again, p)

    # another checkpoint with the same file name, variant and epoch (every
    # run writes best.pt) gets its own targets, not the first one's cache
    other = os.path.join(tmp, "b")
    os.mkdir(other)
    net2 = smlf.build("small").eval()
    with torch.no_grad():
        for q, r in zip(net2.parameters(), net.parameters()):
            q.copy_(r * 0.5)
    ck2 = os.path.join(other, "teacher.pt")
    torch.save({"model": net2.state_dict(), "variant": "small", "epoch": 3}, ck2)
    p2 = train_age.teacher_probs(ck2, imgs)
    assert not torch.equal(p2, p), "a second teacher read the first one's cached targets"

    # --teacher A,B: the mean of the teachers' distributions, a wide one folded
    # to the 66-class student's classes; each teacher reads its own arrays
    wnet = smlf.build("small", 101).eval()
    ckw = os.path.join(tmp, "wide.pt")
    torch.save({"model": wnet.state_dict(), "variant": "small", "epoch": 1, "classes": 101}, ckw)
    labels = np.arange(5)
    train_age.utkdata.cached_arrays = lambda split, size: (imgs, labels)
    ens = train_age.ensemble_probs([ck, ckw], smlf.NUM_CLASSES, labels)
    pw = train_age.teacher_probs(ckw, imgs)
    ref = 0.5 * (again + train_age.fold_probs(pw, smlf.NUM_CLASSES))
    assert ens.shape == (5, smlf.NUM_CLASSES), ens.shape
    assert torch.allclose(ens, ref, atol=1e-7), (ens - ref).abs().max()
    # --teacher66: the 66-class head learns from these checkpoints' own
    # distributions, not from the wide targets folded
    t66 = train_age.targets66(ck + "," + ck2, pw, labels)
    assert torch.allclose(t66, 0.5 * (again + p2), atol=1e-7), (t66 - 0.5 * (again + p2)).abs().max()
    assert torch.equal(train_age.targets66(None, pw, labels), train_age.fold_probs(pw, smlf.NUM_CLASSES))
    assert train_age.targets66(None, None, labels) is None
    try:
        train_age.ensemble_probs([ck], 101, labels)
        raise AssertionError("a 66-class teacher was taken for a 101-class student")
    except SystemExit as e:
        assert "66 classes" in str(e), e
    try:
        train_age.ensemble_probs([ck], smlf.NUM_CLASSES, labels + 1)
        raise AssertionError("a teacher with other training labels was taken")
    except SystemExit as e:
        assert "differ" in str(e), e

# the 66-class head's targets under --aux66: a wide teacher's distribution
# folded, every age from 65 on into the open-ended last class
wide = torch.softmax(torch.randn(4, 101), 1)
f66 = train_age.fold_probs(wide, smlf.NUM_CLASSES)
assert f66.shape == (4, 66), f66.shape
assert torch.equal(f66[:, :65], wide[:, :65])
assert torch.allclose(f66[:, 65], wide[:, 65:].sum(1))
assert torch.allclose(f66.sum(1), torch.ones(4), atol=1e-6)
assert torch.equal(train_age.fold_probs(f66, 66), f66), "a 66-class distribution is already folded"
print("ok")
