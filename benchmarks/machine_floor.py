"""The machine's floor for the real-size benchmarks: memory bandwidth (a 1 GiB float32 copy, bytes read plus written
per second) and float32 matrix-product FLOP/s (4096^3 through PyTorch's BLAS), on the given threads.
    python benchmarks/machine_floor.py [--threads 2]
Prints one JSON line: {"bandwidth_gb_s": ..., "gflop_s": ...}."""
import argparse
import json
import os
import sys
import time

_threads = next((sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "--threads"), "2")
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, _threads)

import torch  # noqa: E402


def best_of(runs, work):
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    source = torch.ones(1 << 28)  # 1 GiB
    target = torch.empty_like(source)
    copy_s = best_of(5, lambda: target.copy_(source))
    a, b = torch.randn(4096, 4096), torch.randn(4096, 4096)
    product_s = best_of(3, lambda: torch.mm(a, b))
    print(json.dumps({"threads": args.threads, "bandwidth_gb_s": round(2 * source.numel() * 4 / copy_s / 1e9, 1),
                      "gflop_s": round(2 * 4096 ** 3 / product_s / 1e9, 1)}))


if __name__ == "__main__":
    main()
