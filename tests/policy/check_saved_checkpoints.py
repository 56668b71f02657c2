"""Checks that transformers loads the checkpoints aha saves and computes the same logits as from
the original fixtures. Run after the model test has kept its saved folders:

    AHA_KEEP_SAVED=/tmp/aha-saved build/tests/test_model "a saved checkpoint reloads with identical logits"
    python tests/policy/check_saved_checkpoints.py /tmp/aha-saved
"""
import pathlib
import sys

import torch
import transformers
from safetensors.torch import load_file

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models"


def main(saved_root):
    failures = 0
    for folder in sorted(pathlib.Path(saved_root).iterdir()):
        expected = load_file(str(FIXTURES / folder.name / "expected.safetensors"))
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager").float().eval()
        mask = expected["attention_mask"]
        with torch.no_grad():
            logits = model(input_ids=expected["input_ids"], attention_mask=mask,
                           position_ids=(mask.cumsum(1) - 1).clamp(min=0)).logits
        keep = mask.bool().unsqueeze(-1).expand_as(logits)
        diff = (logits[keep] - expected["logits"][keep]).abs().max().item()
        ok = diff < 1e-5
        failures += not ok
        print(f"{folder.name:12s} transformers loads aha's save: max |logit diff| = {diff:.2e} {'ok' if ok else 'FAIL'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(sys.argv[1])
