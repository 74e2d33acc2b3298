#!/usr/bin/env python3
"""Average the weights of several checkpoints of one network ("model soup",
or stochastic weight averaging over the ends of a chain of restarts).

Only checkpoints that descend from one start (each run initialised from the
one before, or epochs of one run) lie in one basin, where the average is a
better point than either end; averaging unrelated runs gives noise. Floating
tensors (weights, biases, BatchNorm running statistics) are averaged; integer
ones (num_batches_tracked) are taken from the first file. The output keeps
every other key of the first checkpoint, without the optimiser state, so
det_export.py / export.py read it like any epoch file.

    python3 train/soup.py --out soup.pt A.pt B.pt C.pt
"""
import argparse

import torch


def average_states(states):
    """Element-wise mean of state dicts with identical keys and shapes."""
    first = states[0]
    for s in states[1:]:
        if s.keys() != first.keys():
            raise ValueError('checkpoints hold different tensors')
        for k, v in s.items():
            if v.shape != first[k].shape:
                raise ValueError(f'{k}: shape {tuple(v.shape)} vs {tuple(first[k].shape)}')
    out = {}
    for k, v in first.items():
        if v.is_floating_point():
            acc = torch.zeros_like(v, dtype=torch.float64)
            for s in states:
                acc += s[k].to(torch.float64)
            out[k] = (acc / len(states)).to(v.dtype)
        else:
            out[k] = v.clone()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', required=True)
    ap.add_argument('checkpoints', nargs='+')
    a = ap.parse_args()
    cks = [torch.load(p, map_location='cpu') for p in a.checkpoints]
    soup = {k: v for k, v in cks[0].items() if k != 'opt'}
    soup['model'] = average_states([c['model'] for c in cks])
    soup['soup'] = list(a.checkpoints)
    torch.save(soup, a.out)
    print(f'averaged {len(cks)} checkpoints -> {a.out}')


if __name__ == '__main__':
    main()
