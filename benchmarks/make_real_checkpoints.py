"""The two real-size checkpoints of benchmarks/grpo_step_real.sh, random weights saved by transformers with the
real padded vocabulary (151,936 embedding rows) and the Qwen3 tokenizer (151,669 ids):
  qwen2-0.5b     Qwen2.5-0.5B's shape: hidden 896, 24 layers, 14 heads and 2 KV heads, intermediate 4864,
                 tied embeddings (494M parameters)
  qwen3-moe-0.5b a qwen3_moe of 472M parameters: hidden 768, 8 layers, 12 heads and 4 KV heads of 64,
                 32 experts of 384, top-4, untied LM head
    python benchmarks/make_real_checkpoints.py OUT_DIR [TOKENIZER_DIR]
TOKENIZER_DIR defaults to $AHA_DATA_DIR/tokenizers/qwen3 ($AHA_DATA_DIR: ../shared/data)."""
import os
import pathlib
import shutil
import sys

import torch
import transformers

SHAPES = {
    "qwen2-0.5b": lambda: transformers.Qwen2Config(
        vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
        num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1000000.0, rms_norm_eps=1e-6,
        tie_word_embeddings=True, torch_dtype="float32"),
    "qwen3-moe-0.5b": lambda: transformers.Qwen3MoeConfig(
        vocab_size=151936, hidden_size=768, intermediate_size=3072, num_hidden_layers=8, num_attention_heads=12,
        num_key_value_heads=4, head_dim=64, num_experts=32, num_experts_per_tok=4, moe_intermediate_size=384,
        norm_topk_prob=True, max_position_embeddings=32768, rope_theta=1000000.0, tie_word_embeddings=False,
        torch_dtype="float32"),
}


def main():
    out = pathlib.Path(sys.argv[1])
    data = pathlib.Path(os.environ.get("AHA_DATA_DIR", "../shared/data"))
    tokenizer = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else data / "tokenizers" / "qwen3"
    for name, make_config in SHAPES.items():
        folder = out / name
        if (folder / "config.json").exists():
            continue
        torch.manual_seed(0)
        config = make_config()
        model = transformers.AutoModelForCausalLM.from_config(config)
        model.save_pretrained(folder, safe_serialization=True)
        for file in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copyfile(tokenizer / file, folder / file)
        parameters = sum(p.numel() for p in model.parameters())
        print(f"{folder}: {config.model_type}, {parameters / 1e6:.0f}M parameters, vocab {config.vocab_size}")


if __name__ == "__main__":
    main()
