"""SMLF-Net (Table 1 of the paper, restated in shared/docs/SMLF-NET.md).

Layout follows the table row by row. Convs are bias-free and followed by
BatchNorm so the exporter can fold BN into the conv weights.
"""
import math

import torch
import torch.nn as nn

NUM_CLASSES = 66          # ages 0..64 and one class for 65+
LEAKY = 0.1               # paper says LeakyReLU without a slope; 0.1 is ours
SE_REDUCTION = 4

# (C, t, residual, se, stride, repeats) for the bottleneck rows of Table 1
BOTTLENECKS = [
    (64, 2, False, True, 2, 2),
    (64, 2, True, True, 1, 3),
    (128, 4, False, True, 2, 1),
    (128, 2, True, True, 1, 4),
    (256, 4, False, True, 2, 1),
    (256, 2, True, True, 1, 2),
]


def act():
    return nn.LeakyReLU(LEAKY, inplace=True)


class ConvBN(nn.Sequential):
    def __init__(self, cin, cout, k, s=1, groups=1, pad=None, activation=True):
        if pad is None:
            pad = k // 2
        layers = [nn.Conv2d(cin, cout, k, s, pad, groups=groups, bias=False),
                  nn.BatchNorm2d(cout)]
        if activation:
            layers.append(act())
        super().__init__(*layers)


class SE(nn.Module):
    def __init__(self, c, r=SE_REDUCTION):
        super().__init__()
        mid = max(1, c // r)
        self.fc1 = nn.Linear(c, mid)
        self.fc2 = nn.Linear(mid, c)

    def forward(self, x):
        s = x.mean(dim=(2, 3))
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))
        return x * s[:, :, None, None]


class Bottleneck(nn.Module):
    def __init__(self, cin, cout, t, stride, residual, se):
        super().__init__()
        mid = cin * t
        self.expand = ConvBN(cin, mid, 1)
        self.dw = ConvBN(mid, mid, 3, stride, groups=mid)
        self.project = ConvBN(mid, cout, 1, activation=False)
        self.se = SE(cout) if se else None
        self.residual = residual and stride == 1 and cin == cout

    def forward(self, x):
        y = self.project(self.dw(self.expand(x)))
        if self.se is not None:
            y = self.se(y)
        return x + y if self.residual else y


class SMLFNet(nn.Module):
    def __init__(self, width=1.0, input_size=112, num_classes=NUM_CLASSES):
        super().__init__()
        self.width = width
        self.input_size = input_size

        def ch(c):
            return max(8, int(round(c * width)))

        c = ch(32)
        self.conv1 = ConvBN(3, c, 3, 2)
        # DW1: 1x1 conv then 3x3 depthwise, SE on its output (Table 1 row 2)
        self.dw1 = nn.Sequential(ConvBN(c, c, 1), ConvBN(c, c, 3, 1, groups=c))
        self.dw1_se = SE(c)
        blocks = []
        cin = c
        for cout, t, res, se, s, r in BOTTLENECKS:
            cout = ch(cout)
            for i in range(r):
                blocks.append(Bottleneck(cin, cout, t, s if i == 0 else 1, res, se))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        final = input_size // 16
        # DW2: depthwise conv over the whole final map, then 1x1 to 128
        self.dw2 = nn.Sequential(ConvBN(cin, cin, final, 1, groups=cin, pad=0),
                                 ConvBN(cin, ch(128), 1))
        self.fc = nn.Linear(ch(128), num_classes)

    def features(self, x):
        x = self.conv1(x)
        x = self.dw1_se(self.dw1(x))
        x = self.blocks(x)
        return torch.flatten(self.dw2(x), 1)

    def forward(self, x):
        return self.fc(self.features(x))


def class_ages(num_classes=NUM_CLASSES):
    return torch.arange(num_classes, dtype=torch.float32)


def expected_age(logits):
    p = torch.softmax(logits, dim=1)
    return (p * class_ages(logits.shape[1]).to(logits.device)).sum(1)


VARIANTS = {
    "full": dict(width=1.0, input_size=112),
    "small": dict(width=0.5, input_size=64),
}


def build(variant, num_classes=NUM_CLASSES):
    return SMLFNet(num_classes=num_classes, **VARIANTS[variant])


def checkpoint_classes(state):
    """Class count of a checkpoint's weights (its fc layer's rows)."""
    sd = state["model"] if "model" in state else state
    return sd["fc.weight"].shape[0]


def widen_head(state_dict, num_classes):
    """Weights of a narrower age head, widened to num_classes: ages below the
    old last class keep their rows; the old open-ended last class (e.g. 65+)
    is split evenly over the new ages from it on (same logits, bias lowered
    by log of the count), so the widened net starts out predicting exactly the
    old distribution, only spread over the older ages."""
    w, b = state_dict["fc.weight"], state_dict["fc.bias"]
    old = w.shape[0]
    if num_classes == old:
        return state_dict
    if num_classes < old:
        raise ValueError(f"cannot narrow a {old}-class head to {num_classes}")
    k = num_classes - old + 1
    sd = dict(state_dict)
    sd["fc.weight"] = torch.cat([w[:old - 1], w[old - 1:].repeat(k, 1)])
    sd["fc.bias"] = torch.cat([b[:old - 1], (b[old - 1:] - math.log(k)).repeat(k)])
    return sd


if __name__ == "__main__":
    for v in VARIANTS:
        m = build(v).eval()
        n = sum(p.numel() for p in m.parameters())
        s = VARIANTS[v]["input_size"]
        out = m(torch.zeros(1, 3, s, s))
        print(v, n, tuple(out.shape))
