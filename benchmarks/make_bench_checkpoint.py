"""A random qwen3_moe checkpoint for the throughput benchmarks (about 60M parameters: 8 layers,
hidden 512, 16 experts of 256, top-4, vocab 32k), saved by transformers.
    python benchmarks/make_bench_checkpoint.py OUT_DIR"""
import sys

import torch
import transformers


def main():
    torch.manual_seed(0)
    config = transformers.Qwen3MoeConfig(
        vocab_size=32000, hidden_size=512, intermediate_size=1536, num_hidden_layers=8, num_attention_heads=8,
        num_key_value_heads=4, head_dim=64, num_experts=16, num_experts_per_tok=4, moe_intermediate_size=256,
        norm_topk_prob=True, max_position_embeddings=2048, tie_word_embeddings=False)
    transformers.Qwen3MoeForCausalLM(config).save_pretrained(sys.argv[1])


if __name__ == "__main__":
    main()
