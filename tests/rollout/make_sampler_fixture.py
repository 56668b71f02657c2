"""Makes the golden fixture of the sampler test with PyPI transformers: which tokens survive
temperature, top-k, top-p and min-p, applied as transformers' logits processors in generate().

    pip install torch transformers safetensors
    python tests/rollout/make_sampler_fixture.py    # writes tests/fixtures/sampling/filters.safetensors
"""
import pathlib

import torch
from safetensors.torch import save_file
from transformers.generation.logits_process import (MinPLogitsWarper, TemperatureLogitsWarper,
                                                    TopKLogitsWarper, TopPLogitsWarper)

OUT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "sampling" / "filters.safetensors"
CASES = [  # temperature, top_k, top_p, min_p
    (1.0, 0, 1.0, 0.0), (0.7, 5, 1.0, 0.0), (1.0, 0, 0.9, 0.0), (1.3, 0, 0.5, 0.0), (1.0, 0, 1.0, 0.1),
    (0.8, 20, 0.95, 0.05), (1.0, 1, 1.0, 0.0), (2.0, 50, 0.3, 0.2),
]


def main():
    torch.manual_seed(5)
    logits = torch.randn(16, 200) * 3
    tensors = {"logits": logits}
    for i, (temperature, top_k, top_p, min_p) in enumerate(CASES):
        scores = logits.clone()
        scores = TemperatureLogitsWarper(temperature)(None, scores)
        if top_k:
            scores = TopKLogitsWarper(top_k)(None, scores)
        if top_p < 1.0:
            scores = TopPLogitsWarper(top_p)(None, scores)
        if min_p > 0.0:
            scores = MinPLogitsWarper(min_p)(None, scores)
        tensors[f"case{i}.params"] = torch.tensor([temperature, top_k, top_p, min_p], dtype=torch.float64)
        tensors[f"case{i}.kept"] = torch.isfinite(scores)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(OUT))


if __name__ == "__main__":
    main()
