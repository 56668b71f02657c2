"""Makes the golden fixtures of the GRPO tests with PyPI trl: the loss and its gradient with
respect to the policy log-probs from TRL's own GRPOTrainer._compute_loss, for every loss type,
with and without the KL term, with symmetric and DAPO clip-higher epsilons, at the token level
(GRPO) and the sequence level (GSPO, importance_sampling_level = "sequence"); the same loss with
the rollout correction of a vLLM sampler (vllm_importance_sampling_correction: the ratio of the
trainer's to the sampler's log-probs, truncated or masked per token or per sequence, with its
logged statistics); and group-relative advantages with TRL's formulas (trl.trainer.utils.nanstd).

    pip install torch trl safetensors
    python tests/rl/make_grpo_fixtures.py     # writes tests/fixtures/grpo/
"""
import math
import pathlib
import types

import torch
from safetensors.torch import save_file
from trl import GRPOTrainer
from trl.trainer.utils import nanstd

OUT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "grpo"
MAX_COMPLETION_LENGTH = 12


def trl_rollout_correction(old, sampling, mask, mode, clip_min, clip_max):
    """The vLLM importance-sampling ratio of GRPOTrainer._generate_and_score_completions (trl 1.16.0,
    grpo_trainer.py, "Compute the importance sampling ratio when using vLLM"): [B, T] for the token
    modes, [B, 1] for the sequence modes, whose log-ratio is the sum over the completion."""
    logps_diff = torch.nan_to_num((old - sampling) * mask, nan=0.0)
    if mode in ["sequence_mask", "sequence_truncate"]:
        logps_diff = logps_diff.sum(dim=-1, keepdim=True)
    ratio = torch.exp(logps_diff)
    if mode in ["sequence_truncate", "token_truncate"]:
        return torch.clamp(ratio, min=clip_min, max=clip_max)
    min_val = clip_min if clip_min is not None else -math.inf
    max_val = clip_max if clip_max is not None else math.inf
    return ratio.masked_fill((ratio < min_val) | (ratio > max_val), value=0.0)


def trl_loss(loss_type, beta, eps_low, eps_high, level, inputs, logp, is_ratio=None):
    """Runs GRPOTrainer._compute_loss on a trainer stub whose model returns `logp`; with `is_ratio`,
    as after a vLLM rollout with vllm_importance_sampling_correction and that ratio."""
    trainer = object.__new__(GRPOTrainer)
    trainer.loss_type, trainer.beta = loss_type, beta
    trainer.epsilon_low, trainer.epsilon_high = eps_low, eps_high
    trainer.importance_sampling_level = level
    trainer.top_entropy_quantile = 1.0
    trainer.off_policy_mask_threshold = None
    trainer.use_vllm = trainer.vllm_importance_sampling_correction = is_ratio is not None
    if is_ratio is not None:
        inputs = {**inputs, "importance_sampling_ratio": is_ratio}
    trainer.aux_loss_enabled = False
    trainer._entropy_bonus_enabled = False
    trainer.max_completion_length = MAX_COMPLETION_LENGTH
    trainer.current_gradient_accumulation_steps = 1
    trainer.args = types.SimpleNamespace(delta=None, use_bias_correction_kl=False, steps_per_generation=1)
    trainer.model = types.SimpleNamespace(training=True)
    trainer.accelerator = types.SimpleNamespace(num_processes=1, gather=lambda t: t, reduce=lambda t, reduction: t)
    trainer._metrics = {"train": __import__("collections").defaultdict(list)}
    trainer._get_per_token_logps_and_entropies = lambda *a, **k: (logp, torch.zeros_like(logp), None)
    return trainer._compute_loss(None, inputs), trainer._metrics["train"]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(2026)
    batch, length = 6, 10
    lengths = torch.tensor([10, 7, 3, 10, 1, 5])
    mask = (torch.arange(length).unsqueeze(0) < lengths.unsqueeze(1)).float()
    old = -torch.rand(batch, length) * 3
    logp = old + torch.randn(batch, length) * 0.3  # ratios on both sides of every clip
    ref = old + torch.randn(batch, length) * 0.2
    advantages = torch.tensor([1.2, -0.7, 0.4, -1.5, 0.9, -0.3])
    inputs = {"prompt_ids": torch.zeros(batch, 1, dtype=torch.long), "prompt_mask": torch.ones(batch, 1),
              "completion_ids": torch.zeros(batch, length, dtype=torch.long), "completion_mask": mask,
              "advantages": advantages, "old_per_token_logps": old, "ref_per_token_logps": ref,
              "num_items_in_batch": mask.sum()}
    tensors = {"mask": mask, "old_logp": old, "logp": logp, "ref_logp": ref, "advantages": advantages}
    cases = [(level, loss_type, beta, eps_low, eps_high)
             for level in ["token", "sequence"] for loss_type in ["grpo", "bnpo", "dr_grpo", "dapo"]
             for beta in [0.0, 0.04] for eps_low, eps_high in [(0.2, 0.2), (0.2, 0.28)]]
    for level, loss_type, beta, eps_low, eps_high in cases:
        prefix = "sequence_" if level == "sequence" else ""
        name = f"{prefix}{loss_type}_beta{beta}_eps{eps_low}-{eps_high}"
        x = logp.clone().requires_grad_()
        loss, metrics = trl_loss(loss_type, beta, eps_low, eps_high, level, inputs, x)
        loss.backward()
        tensors[f"loss.{name}"] = loss.detach().reshape(1)
        tensors[f"grad.{name}"] = x.grad
        tensors[f"clip_low.{name}"] = torch.tensor([metrics["clip_ratio/low_mean"][-1]])
        tensors[f"clip_high.{name}"] = torch.tensor([metrics["clip_ratio/high_mean"][-1]])
        if beta:
            tensors[f"kl.{name}"] = torch.tensor([metrics["kl"][-1]])
        print(f"{name}: loss {loss.item():.6f}")

    # Rollout correction: the sampler's log-probs differ from the trainer's (`old`) by about 0.25 a token.
    sampling_logp = old + 0.25 * torch.randn(batch, length, generator=torch.Generator().manual_seed(2027))
    tensors["sampling_logp"] = sampling_logp
    cases = [(mode, level, loss_type, beta, floor, cap)
             for mode in ["token_truncate", "token_mask", "sequence_truncate", "sequence_mask"]
             for level in ["token", "sequence"] for loss_type in ["grpo", "bnpo", "dr_grpo", "dapo"]
             for beta in [0.0, 0.04] for floor, cap in [(None, 3.0), (0.5, 2.0)]]
    for mode, level, loss_type, beta, floor, cap in cases:
        name = f"correction_{mode}_{level}_{loss_type}_beta{beta}_floor{floor or 0}_cap{cap}"
        ratio = trl_rollout_correction(old, sampling_logp, mask, mode, floor, cap)
        x = logp.clone().requires_grad_()
        loss, _ = trl_loss(loss_type, beta, 0.2, 0.28, level, inputs, x, ratio)
        loss.backward()
        tensors[f"loss.{name}"] = loss.detach().reshape(1)
        tensors[f"grad.{name}"] = x.grad
        # The statistics TRL logs, over the completion tokens per token and over the sequences per sequence,
        # and the share of raw ratios outside [floor, cap].
        log_ratio = (old - sampling_logp) * mask
        if mode.startswith("sequence"):
            ratio, raw = ratio.flatten(), log_ratio.sum(-1).exp()
        else:
            ratio, raw = ratio[mask.bool()], log_ratio.exp()[mask.bool()]
        outside = ((raw < (floor or 0.0)) | (raw > cap)).float().mean()
        tensors[f"correction_min.{name}"] = ratio.min().reshape(1)
        tensors[f"correction_mean.{name}"] = ratio.mean().reshape(1)
        tensors[f"correction_max.{name}"] = ratio.max().reshape(1)
        tensors[f"correction_outside.{name}"] = outside.reshape(1)
        print(f"{name}: loss {loss.item():.6f}, ratio outside [{floor or 0}, {cap}] {outside.item():.3f}")

    # Advantages: 4 groups of 4, the third with equal rewards.
    rewards = torch.tensor([1.0, 0.0, 0.5, 1.0, 0.0, 0.0, 1.0, 0.25, 1.0, 1.0, 1.0, 1.0, 2.0, -1.0, 0.0, 0.5])
    groups = rewards.view(-1, 4)
    mean = groups.mean(1).repeat_interleave(4)
    group_std = nanstd(groups, dim=1).repeat_interleave(4)
    batch_std = nanstd(rewards).expand_as(rewards)
    tensors["rewards"] = rewards
    tensors["advantages.group"] = (rewards - mean) / (group_std + 1e-4)
    tensors["advantages.batch"] = (rewards - mean) / (batch_std + 1e-4)
    tensors["advantages.none"] = rewards - mean
    save_file({k: v.contiguous().float() for k, v in tensors.items()}, str(OUT / "trl_grpo.safetensors"))


if __name__ == "__main__":
    main()
