"""Makes the golden fixture of the GRPO iteration test with PyPI trl and transformers: four optimizer
updates of the tiny Qwen2 checkpoint (tests/fixtures/models/qwen2) on one generation batch of 8
completions, as TRL makes them with num_iterations = 2, steps_per_generation = 2,
gradient_accumulation_steps = 1 and per_device_train_batch_size = 4 (aha: grpo.iterations = 2,
grpo.mini_batches = 2). The loss of each update is GRPOTrainer._compute_loss, on a trainer stub whose
log-probs come from the real model, followed by gradient clipping at 1.0 and AdamW at lr 1e-2; for the
loss types dapo and grpo it saves each update's loss and gradient norm and the log-probs after the four.

    pip install torch trl transformers safetensors
    python tests/rl/make_iteration_fixtures.py     # writes tests/fixtures/grpo/trl_iterations.safetensors
"""
import collections
import pathlib
import types

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM
from trl import GRPOTrainer

TESTS = pathlib.Path(__file__).resolve().parents[1]
MODEL = TESTS / "fixtures" / "models" / "qwen2"
OUT = TESTS / "fixtures" / "grpo"
MAX_COMPLETION_LENGTH = 6
TEMPERATURE = 1.0
LR = 1e-2


def logps(model, rows):
    """Log-probs of each (prompt, completion) row's completion tokens, one unpadded sequence at a time:
    right-padded [B, MAX_COMPLETION_LENGTH] with 0 beyond each completion, and the completion mask."""
    out = torch.zeros(len(rows), MAX_COMPLETION_LENGTH)
    mask = torch.zeros(len(rows), MAX_COMPLETION_LENGTH)
    for i, (prompt, completion) in enumerate(rows):
        logits = model(torch.cat([prompt, completion]).unsqueeze(0)).logits[0, len(prompt) - 1 : -1]
        logp = torch.log_softmax(logits.float() / TEMPERATURE, dim=-1)
        out[i, : len(completion)] = logp.gather(-1, completion.unsqueeze(-1)).squeeze(-1)
        mask[i, : len(completion)] = 1.0
    return out, mask


def trl_trainer(loss_type):
    """A GRPOTrainer stub with the settings of the run; the log-probs are set per update."""
    trainer = object.__new__(GRPOTrainer)
    trainer.loss_type, trainer.beta = loss_type, 0.0
    trainer.epsilon_low, trainer.epsilon_high = 0.2, 0.28
    trainer.importance_sampling_level = "token"
    trainer.top_entropy_quantile = 1.0
    trainer.off_policy_mask_threshold = None
    trainer.use_vllm = False
    trainer.aux_loss_enabled = False
    trainer._entropy_bonus_enabled = False
    trainer.max_completion_length = MAX_COMPLETION_LENGTH
    trainer.current_gradient_accumulation_steps = 1
    trainer.args = types.SimpleNamespace(delta=None, use_bias_correction_kl=False, steps_per_generation=2)
    trainer.model = types.SimpleNamespace(training=True)
    trainer.accelerator = types.SimpleNamespace(num_processes=1, gather=lambda t: t, reduce=lambda t, reduction: t)
    trainer._metrics = {"train": collections.defaultdict(list)}
    return trainer


def run(loss_type, rows, batch):
    """TRL's four updates from a fresh model, in the order of GRPOTrainer._prepare_inputs: iteration-major,
    slice 0 (rows 0-3) then slice 1 (rows 4-7); TRL shuffles the rows before slicing, the fixture does not."""
    model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    trainer = trl_trainer(loss_type)
    losses, norms = [], []
    for _ in range(2):  # num_iterations
        for rows_slice in [slice(0, 4), slice(4, 8)]:
            inputs = {key: value[rows_slice] for key, value in batch.items()}
            inputs["num_items_in_batch"] = batch["completion_mask"].sum()  # the whole generation batch
            trainer._get_per_token_logps_and_entropies = lambda model, *a, **k: (
                logps(model, rows[rows_slice])[0], torch.zeros(4, MAX_COMPLETION_LENGTH), None)
            loss = trainer._compute_loss(model, inputs)
            losses.append(loss.item())
            loss.backward()
            norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0).item())
            optimizer.step()
            optimizer.zero_grad()
    with torch.no_grad():
        final = logps(model, rows)[0]
    return torch.tensor(losses), torch.tensor(norms), final


def main():
    torch.manual_seed(7)
    prompt_lengths = torch.tensor([4, 2, 6, 3]).repeat_interleave(2)
    completion_lengths = torch.tensor([5, 3, 6, 1, 4, 6, 2, 5])
    prompts = [torch.randint(2, 128, (int(n),)) for n in prompt_lengths[::2]]
    rows = [(prompts[i // 2], torch.randint(2, 128, (int(n),))) for i, n in enumerate(completion_lengths)]
    advantages = torch.tensor([1.0, -1.0, 0.5, -0.5, 1.2, -1.2, -0.3, 0.3])
    prompt_ids = torch.zeros(8, 6, dtype=torch.long)
    completion_ids = torch.zeros(8, MAX_COMPLETION_LENGTH, dtype=torch.long)
    for i, (prompt, completion) in enumerate(rows):
        prompt_ids[i, : len(prompt)], completion_ids[i, : len(completion)] = prompt, completion
    prompt_mask = (torch.arange(6) < prompt_lengths.unsqueeze(1)).float()

    with torch.no_grad():
        initial, mask = logps(AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32), rows)
    batch = {"prompt_ids": prompt_ids, "prompt_mask": prompt_mask, "completion_ids": completion_ids,
             "completion_mask": mask, "advantages": advantages, "old_per_token_logps": initial}
    tensors = {"prompt_ids": prompt_ids, "prompt_lengths": prompt_lengths, "completion_ids": completion_ids,
               "completion_lengths": completion_lengths, "advantages": advantages, "mask": mask,
               "initial_logp": initial}
    for loss_type in ["dapo", "grpo"]:
        losses, norms, final = run(loss_type, rows, batch)
        tensors[f"update_loss.{loss_type}"], tensors[f"grad_norm.{loss_type}"] = losses, norms
        tensors[f"final_logp.{loss_type}"] = final
        change = ((final - initial) * mask).abs().max().item()
        print(f"{loss_type}: losses {losses.tolist()}, grad norms {norms.tolist()}, max |logp change| {change:.4f}")
    tensors = {k: v.contiguous() if v.dtype == torch.long else v.contiguous().float() for k, v in tensors.items()}
    save_file(tensors, str(OUT / "trl_iterations.safetensors"))


if __name__ == "__main__":
    main()
