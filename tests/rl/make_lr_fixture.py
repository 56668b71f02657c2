"""Makes the golden learning-rate schedules with PyPI transformers' get_*_schedule_with_warmup
(and the cosine variant with a minimum rate).

    pip install torch transformers
    python tests/rl/make_lr_fixture.py     # writes tests/fixtures/grpo/lr_schedules.json
"""
import json
import pathlib

import torch
from transformers import (get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup,
                          get_cosine_with_min_lr_schedule_with_warmup, get_linear_schedule_with_warmup)

OUT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "grpo" / "lr_schedules.json"
LR, WARMUP, STEPS = 3e-4, 5, 40


def rates(make):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    scheduler = make(optimizer)
    out = []
    for _ in range(STEPS):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


def main():
    schedules = {
        "constant": rates(lambda o: get_constant_schedule_with_warmup(o, WARMUP)),
        "linear": rates(lambda o: get_linear_schedule_with_warmup(o, WARMUP, STEPS)),
        "cosine": rates(lambda o: get_cosine_schedule_with_warmup(o, WARMUP, STEPS)),
        "cosine_min_0.1": rates(lambda o: get_cosine_with_min_lr_schedule_with_warmup(o, WARMUP, STEPS, min_lr_rate=0.1)),
    }
    OUT.write_text(json.dumps({"lr": LR, "warmup": WARMUP, "steps": STEPS, "schedules": schedules}, indent=1))


if __name__ == "__main__":
    main()
