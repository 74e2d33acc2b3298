"""train/head_fusion.fused_age on hand-computed cases: the 66-class head's
last class (65+) is worth the wide head's mean age above 65, or a given
value. Needs torch (the module imports the network); meson runs it only then."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train"))
import head_fusion  # noqa: E402

p66 = np.zeros((2, 66))
p66[0, 30], p66[0, 65] = 0.5, 0.5   # half 30, half 65+
p66[1, 20] = 1.0                    # no 65+ mass at all
wide = np.zeros((2, 101))
wide[0, 30], wide[0, 70], wide[0, 80] = 0.6, 0.2, 0.2   # above 65: 70 and 80, mean 75
wide[1, 90] = 1.0
got = head_fusion.fused_age(p66, wide)
# 0.5 * 30 + 0.5 * 75 = 52.5; the second face keeps its 20 whatever the wide head says
assert np.allclose(got, [52.5, 20.0]), got
assert np.allclose(head_fusion.fused_age(p66, wide, 70.0), [50.0, 20.0])
# the 65+ class counted as 65 is the plain expected age of the 66-class head
assert np.allclose(head_fusion.fused_age(p66, wide, 65.0), p66 @ np.arange(66))
# a wide head with nothing above 65 leaves the 65+ class at 65
wide[0, 70] = wide[0, 80] = 0.0
assert np.allclose(head_fusion.fused_age(p66, wide), [47.5, 20.0])
print("ok")
