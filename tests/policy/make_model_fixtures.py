"""Makes the golden fixtures of the policy tests with PyPI transformers: a tiny random checkpoint
per architecture (saved by transformers), and for a padded batch its float32 logits, the gradient of
a fixed scalar loss for every parameter, and (MoE) the load-balancing loss.

    pip install torch transformers safetensors
    python tests/policy/make_model_fixtures.py      # writes tests/fixtures/models/<type>/
"""
import pathlib

import torch
import transformers
from safetensors.torch import save_file

OUT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models"

COMMON = dict(vocab_size=128, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
              initializer_range=0.1, rms_norm_eps=1e-6, tie_word_embeddings=False)

CONFIGS = {
    "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM, dict(rope_theta=10000.0)),
    "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM, dict(tie_word_embeddings=True)),
    "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM, dict(head_dim=16)),
    "qwen3_moe": (transformers.Qwen3MoeConfig, transformers.Qwen3MoeForCausalLM,
                  dict(head_dim=16, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
                       norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[0],
                       router_aux_loss_coef=0.01)),
    "qwen2_moe": (transformers.Qwen2MoeConfig, transformers.Qwen2MoeForCausalLM,
                  dict(num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
                       shared_expert_intermediate_size=48, norm_topk_prob=False,
                       decoder_sparse_step=2, mlp_only_layers=[], router_aux_loss_coef=0.01)),
    "deepseek_v3": (transformers.DeepseekV3Config, transformers.DeepseekV3ForCausalLM,
                    dict(num_key_value_heads=4, n_routed_experts=8, num_experts_per_tok=2,
                         moe_intermediate_size=32, n_shared_experts=1, first_k_dense_replace=1,
                         n_group=4, topk_group=2, routed_scaling_factor=2.5, norm_topk_prob=True,
                         q_lora_rank=32, kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=8,
                         v_head_dim=8)),
    "deepseek_v3_yarn": (transformers.DeepseekV3Config, transformers.DeepseekV3ForCausalLM,
                         dict(num_key_value_heads=4, n_routed_experts=4, num_experts_per_tok=2,
                              moe_intermediate_size=32, n_shared_experts=1, first_k_dense_replace=2,
                              n_group=1, topk_group=1, routed_scaling_factor=1.0, q_lora_rank=None,
                              kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=8,
                              rope_parameters=dict(rope_type="yarn", rope_theta=10000.0, factor=4.0,
                                                   original_max_position_embeddings=64, beta_fast=32.0,
                                                   beta_slow=1.0, mscale=1.0, mscale_all_dim=1.0))),
    "qwen2_linear": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM,
                     dict(rope_parameters=dict(rope_type="linear", rope_theta=10000.0, factor=2.0))),
}

# Row 0 full, row 1 left-padded, row 2 right-padded.
INPUT_IDS = torch.tensor([[5, 17, 99, 3, 64, 12, 7, 88],
                          [0, 0, 0, 41, 9, 120, 33, 2],
                          [76, 14, 58, 101, 6, 0, 0, 0]])
MASK = torch.tensor([[1] * 8, [0, 0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0, 0]])
POSITIONS = (MASK.cumsum(1) - 1).clamp(min=0)


def checkpoint_named(name, grad):
    """Gradients under checkpoint keys: transformers 5 keeps each MoE layer's experts fused in memory
    (experts.gate_up_proj [E, 2I, H] with gate rows first, experts.down_proj [E, H, I]) and saves
    them per expert (experts.<e>.gate_proj.weight ...)."""
    if name.endswith("experts.gate_up_proj"):
        prefix, half = name[: -len("gate_up_proj")], grad.shape[1] // 2
        out = {}
        for e in range(grad.shape[0]):
            out[f"grad.{prefix}{e}.gate_proj.weight"] = grad[e, :half].contiguous()
            out[f"grad.{prefix}{e}.up_proj.weight"] = grad[e, half:].contiguous()
        return out
    if name.endswith("experts.down_proj"):
        prefix = name[: -len("down_proj")]
        return {f"grad.{prefix}{e}.down_proj.weight": grad[e].contiguous() for e in range(grad.shape[0])}
    return {"grad." + name: grad.contiguous()}


def make(name, config_class, model_class, extra):
    torch.manual_seed(1234)
    config = config_class(**{**COMMON, **extra})
    model = model_class(config).float().eval()
    with torch.no_grad():  # a random selection bias, so that it is exercised
        for module_name, buffer in model.named_buffers():
            if module_name.endswith("e_score_correction_bias"):
                buffer.copy_(torch.randn_like(buffer) * 0.1)
    folder = OUT / name
    model.save_pretrained(folder)
    model.config._attn_implementation = "eager"

    out = model(input_ids=INPUT_IDS, attention_mask=MASK, position_ids=POSITIONS,
                output_router_logits=name.startswith("qwen") and "moe" in name)
    logits = out.logits  # [batch, seq, vocab]
    torch.manual_seed(99)
    probe = torch.randn_like(logits) * MASK.unsqueeze(-1)
    (logits * probe).sum().backward()

    tensors = {"input_ids": INPUT_IDS, "attention_mask": MASK, "logits": logits.detach().contiguous(),
               "probe": probe.contiguous()}
    if getattr(out, "aux_loss", None) is not None:
        tensors["aux_loss"] = out.aux_loss.detach().reshape(1)
    for param_name, param in model.named_parameters():
        if param.grad is not None:
            tensors.update(checkpoint_named(param_name, param.grad))
    save_file(tensors, str(folder / "expected.safetensors"))
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, logits {tuple(logits.shape)}")


if __name__ == "__main__":
    for name, (config_class, model_class, extra) in CONFIGS.items():
        make(name, config_class, model_class, extra)
