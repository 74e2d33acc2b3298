"""Side-by-side latency of one SMLF-Net forward pass (batch 1, 1 thread):
agecam's runtime, OpenCV DNN and ONNX Runtime on the same model, in one run.

    bench/compare.sh            (builds, converts, runs this; see docs/PERFORMANCE.md)

Rounds interleave the engines (ours, OpenCV, ORT, ours, ...) so that load
from other processes falls on all of them alike; every timed run of every
round is pooled and the median reported. ratio_vs_X = X's median / ours:
above 1 means agecam is faster. Also prints multiply-adds per model, the
efficiency this core reaches (MAC/s over the core's FMA peak) and, from
those, a labelled ESTIMATE for a Raspberry Pi 3B (Cortex-A53, 1.2 GHz).
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIDE = {"full": 112, "small": 64}
# Cortex-A53: one 128-bit NEON FMA every 2 cycles = 2 fp32 MAC/cycle/core
A53_GHZ, A53_MAC_PER_CYCLE, A53_CORES = 1.2, 2, 4


def raw(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(" ")
        out[k] = v
    return out


def cpu_model():
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def cpu_ghz():
    """Nominal clock for the peak: cpuinfo MHz (virtual CPUs report the host's)."""
    try:
        mhz = [float(m) for m in re.findall(r"cpu MHz\s*:\s*([\d.]+)", open("/proc/cpuinfo").read())]
        return max(mhz) / 1e3 if mhz else None
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-perf"))
    ap.add_argument("--onnx-dir", default="/var/tmp/agecam-bench")
    ap.add_argument("--ort-dir", default="/var/tmp/agecam-ort", help="holds node_modules/onnxruntime-node")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=60, help="timed runs per engine per round")
    ap.add_argument("--python", default="/usr/bin/python3", help="a python with cv2 (python3-opencv)")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    bench_nn = os.path.join(a.build, "tests/nn/bench_nn")
    env = dict(os.environ, NODE_PATH=os.path.join(a.ort_dir, "node_modules"))
    ghz = cpu_ghz()
    results = {"machine": cpu_model(), "cores": os.cpu_count(), "ghz": ghz, "models": {}}
    print(f"machine: {results['machine']} ({os.cpu_count()} cores, {ghz or '?'} GHz); "
          f"1 thread, batch 1; {a.rounds} rounds x {a.runs} runs per engine, medians")
    for v in ("full", "small"):
        model = os.path.join(ROOT, "models", f"smlf-{v}.acnn")
        onnx = os.path.join(a.onnx_dir, f"smlf-{v}.onnx")
        times = {"agecam": [], "opencv": [], "ort": []}
        macs = 0
        for _ in range(a.rounds):
            r = raw([bench_nn, model, str(a.runs), "1", "raw"])
            macs = int(r["macs"])
            times["agecam"] += [float(x) for x in r["raw_ms"].split()]
            r = raw([a.python, os.path.join(HERE, "opencv_bench.py"), onnx, str(a.runs), str(SIDE[v])])
            times["opencv"] += [float(x) for x in r["raw_ms"].split()]
            r = raw(["node", os.path.join(HERE, "ort_bench.js"), onnx, str(a.runs), str(SIDE[v])], env)
            times["ort"] += [float(x) for x in r["raw_ms"].split()]
        med = {k: statistics.median(t) for k, t in times.items()}
        m = {"macs": macs, "median_ms": med,
             "ratio_vs_opencv": med["opencv"] / med["agecam"],
             "ratio_vs_ort": med["ort"] / med["agecam"],
             "min_ms": {k: min(t) for k, t in times.items()}}
        # on a loaded host the minimum is the least disturbed run of each
        m["min_ratio_vs_opencv"] = m["min_ms"]["opencv"] / m["min_ms"]["agecam"]
        m["min_ratio_vs_ort"] = m["min_ms"]["ort"] / m["min_ms"]["agecam"]
        gmacs = macs / (med["agecam"] * 1e6)
        m["agecam_gmac_per_s"] = gmacs
        if ghz:
            # AVX2 + FMA: two 8-lane FMA pipes = 16 MAC/cycle
            # a virtual CPU reports its base clock, not the boost it runs at,
            # so this can read above 100%: clamp, and treat it as an upper bound
            eff = min(gmacs / (16 * ghz), 1.0)
            m["efficiency_of_peak"] = eff
            one = macs / (A53_GHZ * 1e9 * A53_MAC_PER_CYCLE * eff) * 1e3
            m["pi3b_estimate_ms_1core"] = one
            m["pi3b_estimate_ms_4cores"] = one / (A53_CORES * 0.75)
        results["models"][v] = m
        print(f"\nsmlf-{v}: {macs / 1e6:.1f} M multiply-adds")
        for k in ("agecam", "opencv", "ort"):
            print(f"  {k:7s} median {med[k]:8.3f} ms  (min {min(times[k]):.3f}, n={len(times[k])})")
        print(f"  ratio_vs_opencv {m['ratio_vs_opencv']:.2f}   ratio_vs_ort {m['ratio_vs_ort']:.2f}"
              f"   (of the minima: {m['min_ratio_vs_opencv']:.2f} / {m['min_ratio_vs_ort']:.2f})")
        if ghz:
            print(f"  agecam {gmacs:.1f} GMAC/s = {eff * 100:.0f}% of this core's FMA peak "
                  f"(16 MAC/cycle at {ghz:.2f} GHz)")
            print(f"  ESTIMATE Pi 3B (Cortex-A53 1.2 GHz, 2 MAC/cycle/core, same efficiency): "
                  f"{m['pi3b_estimate_ms_1core']:.1f} ms on 1 core, "
                  f"{m['pi3b_estimate_ms_4cores']:.1f} ms on 4 cores (assuming 75% scaling)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
