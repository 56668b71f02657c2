"""One line of benchmarks/grpo_step_real.sh: aha's and TRL's GRPO step on one checkpoint, and the machine's floor.
    python benchmarks/real_step_report.py NAME CONFIG_JSON AHA_METRICS_JSONL TRL_JSON FLOOR_JSON
The floor: sampling reads the float32 weights a decoding step uses once per step (the layers, the experts the
step's rows touch, the LM head) at the measured bandwidth; training does 6 FLOPs per active parameter per token
(each prompt once, the LM head on completion tokens only) at the measured FLOP/s; AdamW reads and writes 28 bytes
per parameter. aha's first step is a warm-up and is left out, as TRL's is."""
import json
import statistics
import sys


def active_parameters(c, rows):
    """Parameters one token runs through in the layers, and those one decoding step of `rows` rows reads."""
    h, layers = c["hidden_size"], c["num_hidden_layers"]
    heads, kv = c["num_attention_heads"], c["num_key_value_heads"]
    d = c.get("head_dim") or h // heads
    attention = h * heads * d * 2 + h * kv * d * 2
    if c.get("num_experts"):
        e, k, inter = c["num_experts"], c["num_experts_per_tok"], c["moe_intermediate_size"]
        expert = 3 * h * inter
        touched = e * (1 - (1 - k / e) ** rows)  # distinct experts among rows * k draws
        return layers * (attention + k * expert + e * h), layers * (attention + touched * expert + e * h)
    body = layers * (attention + 3 * h * c["intermediate_size"])
    return body, body


def main():
    name, config_file, metrics_file, trl_file, floor_file = sys.argv[1:6]
    c = json.load(open(config_file))
    rows = [json.loads(line) for line in open(metrics_file)][1:]
    trl = json.loads(open(trl_file).read().strip().splitlines()[-1])
    floor = json.load(open(floor_file))
    median = lambda key: statistics.median(r[key] for r in rows)
    step, sampling, training = median("time_step_s"), median("time_rollout_s"), median("time_train_s")
    group, prompts = trl["group_size"], trl["prompts_per_step"]
    completion = statistics.mean(r["completion_length_mean"] for r in rows) * group * prompts
    trained = statistics.mean(r["train_tokens_per_s"] * r["time_train_s"] for r in rows)  # prompt counted G times
    tokens = (trained - completion) / group + completion
    decode_steps = statistics.mean(r["completion_length_max"] for r in rows)
    per_token, per_step = active_parameters(c, group * prompts)
    head = c["vocab_size"] * c["hidden_size"]
    parameters = per_token + head * (1 if c.get("tie_word_embeddings") else 2)
    bandwidth, flops = floor["bandwidth_gb_s"] * 1e9, floor["gflop_s"] * 1e9
    floor_sampling = decode_steps * 4 * (per_step + head) / bandwidth
    floor_training = 6 * (per_token * tokens + head * completion) / flops
    floor_adamw = 28 * parameters / bandwidth
    floor_step = floor_sampling + floor_training + floor_adamw
    print(f"{name}: aha {step:.1f} s (sampling {sampling:.1f}, training {training:.1f}), peak RSS "
          f"{max(r['peak_rss_gb'] for r in rows):.1f} GB, logprob_mismatch {max(r['logprob_mismatch'] for r in rows)}"
          f" | TRL {trl['median_step_s']:.1f} s, peak RSS {trl['peak_rss_gb']:.1f} GB | TRL/aha "
          f"{trl['median_step_s'] / step:.2f}x | floor {floor_step:.1f} s (sampling {floor_sampling:.1f}, "
          f"training {floor_training:.1f}, AdamW {floor_adamw:.1f}): aha {step / floor_step:.2f}x, TRL "
          f"{trl['median_step_s'] / floor_step:.2f}x of it | {completion / (group * prompts):.0f} new tokens per "
          f"completion (TRL {trl['mean_completion_tokens']:.0f})")


if __name__ == "__main__":
    main()
