"""The peer of grpo_step: TRL's GRPOTrainer on the CPU with the same checkpoint, data, prompt, rewards and shapes.
    python benchmarks/peer_trl_grpo.py --model DIR --data TRAIN.jsonl [--group-size 8] [--prompts-per-step 8]
        [--max-new-tokens 96] [--steps 6] [--warmup 1] [--threads 2] [--temperature 1.0] [--lr 3e-4] [--seed 0]
Each timed step samples P*G fresh completions, scores them and takes one optimizer step (beta 0, no reference
model, DAPO loss, epsilon_high 0.28, float32). Prints one JSON line with the median step seconds and the peak RSS."""
import argparse
import functools
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from fractions import Fraction

# The thread count must be in place before torch starts its pools.
_threads = next((sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "--threads"), "2")
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, _threads)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import datasets  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
import trl  # noqa: E402

# datasets/prompt_source.cpp, r1_zero_template, raw text (no chat template).
R1_ZERO = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
    "assistant first thinks about the reasoning process in the mind and then provides the user with the answer. "
    "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
    "respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: {question}. "
    "Assistant:")

ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
FORMAT = re.compile(r"\s*<think>(.*?)</think>\s*<answer>(.*?)</answer>\s*", re.DOTALL)


def number(text):
    text = text.strip().replace(",", "").replace("$", "").rstrip(".").strip()
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None


def gold_number(answer):
    return number(answer.split("####")[-1])


# Completion tokens of the current step, counted where TRL hands the ids to the rewards (EOS included when sampled).
_step_tokens = []


def math_reward(completions, answer, completion_ids, **_):
    """aha's "math" rule for plain numbers: the last <answer>...</answer> holds the reference number."""
    _step_tokens.append(sum(len(ids) for ids in completion_ids))
    out = []
    for text, gold in zip(completions, answer):
        found = ANSWER.findall(text)
        value = number(found[-1]) if found else None
        out.append(1.0 if value is not None and value == gold_number(gold) else 0.0)
    return out


def format_reward(completions, **_):
    """aha's "format" rule: the whole completion is <think>...</think> <answer>...</answer>, each tag once."""
    out = []
    for text in completions:
        ok = FORMAT.fullmatch(text) is not None and all(text.count(t) == 1 for t in (
            "<think>", "</think>", "<answer>", "</answer>"))
        out.append(1.0 if ok else 0.0)
    return out


class StopStringGRPOTrainer(trl.GRPOTrainer):
    """GRPOTrainer ending completions at stop strings, as aha's rollout.stop (default ["</answer>"]).

    TRL passes generation_kwargs' stop_strings to transformers' GenerationConfig, but generate() raises "we could
    not locate a tokenizer" without a tokenizer argument, which TRL does not give: the model's generate is wrapped to
    pass it. A sequence ended by a stop string is then filled with pad ids up to the longest one, and TRL masks only
    after EOS, so the trailing pads are removed here (they would otherwise enter the loss and the token counts)."""

    def _generate_single_turn(self, *args, **kwargs):
        completion_ids, logprobs = super()._generate_single_turn(*args, **kwargs)
        pad_id = self._tokenizer.pad_token_id
        trimmed = []
        for ids in completion_ids:
            end = len(ids)
            while end > 0 and ids[end - 1] == pad_id:
                end -= 1
            trimmed.append(ids[:end])
        return trimmed, logprobs


class StepTimer(transformers.TrainerCallback):
    """Wall clock of each optimizer step: generation, rewards, forward, backward and AdamW."""

    def __init__(self):
        self.seconds, self.tokens, self._start = [], [], None

    def on_step_begin(self, args, state, control, **kwargs):
        _step_tokens.clear()
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.seconds.append(time.perf_counter() - self._start)
        self.tokens.append(sum(_step_tokens))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--prompts-per-step", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stop", action="append", default=None,
                        help='string that ends a completion (repeatable); default "</answer>" as aha; "" for none')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    datasets.disable_progress_bars()

    with open(args.data) as f:
        records = [json.loads(line) for line in f if line.strip()]
    dataset = datasets.Dataset.from_list(
        [{"prompt": R1_ZERO.replace("{question}", r["question"]), "answer": str(r["answer"])} for r in records])

    stop = [x for x in (args.stop if args.stop is not None else ["</answer>"]) if x]
    batch = args.prompts_per_step * args.group_size
    config = trl.GRPOConfig(
        output_dir=tempfile.mkdtemp(prefix="aha-peer-trl-"),
        use_cpu=True,
        bf16=False, fp16=False,  # GRPOConfig turns bf16 on unless told
        activation_checkpointing=False,  # TRL sets gradient_checkpointing (its deprecated alias) True; aha keeps activations
        per_device_train_batch_size=batch,  # all P*G completions in one forward (aha splits by micro_batch_tokens)
        gradient_accumulation_steps=1,
        steps_per_generation=1,  # fresh completions every step, so old log-probs are not recomputed
        num_generations=args.group_size,
        num_iterations=1,
        max_steps=args.warmup + args.steps,
        max_completion_length=args.max_new_tokens,  # TRL 1.16 has no max_prompt_length: prompts are never cut
        temperature=args.temperature, top_p=1.0, top_k=0, min_p=None, repetition_penalty=1.0,
        generation_kwargs={"stop_strings": stop} if stop else None,
        use_vllm=False,
        beta=0.0,  # no reference model
        loss_type="dapo", epsilon=0.2, epsilon_high=0.28,
        scale_rewards="group",
        reward_weights=[1.0, 0.5],
        learning_rate=args.lr, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0,
        seed=args.seed, data_seed=args.seed,
        report_to="none", logging_strategy="no", save_strategy="no", eval_strategy="no",
        log_completions=False, disable_tqdm=True,
        dataloader_num_workers=0,
    )
    model = transformers.AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    tokenizer = transformers.AutoTokenizer.from_pretrained(args.model)
    if stop:
        model.generate = functools.partial(model.generate, tokenizer=tokenizer)
    timer = StepTimer()
    trainer = StopStringGRPOTrainer(model=model, reward_funcs=[math_reward, format_reward], args=config,
                                    train_dataset=dataset, processing_class=tokenizer, callbacks=[timer])
    trainer.train()

    seconds, tokens = timer.seconds[args.warmup:], timer.tokens[args.warmup:]
    print(json.dumps({
        "peer": "trl", "trl_version": trl.__version__, "torch_version": torch.__version__,
        "transformers_version": transformers.__version__, "threads": torch.get_num_threads(),
        "group_size": args.group_size, "prompts_per_step": args.prompts_per_step,
        "max_new_tokens": args.max_new_tokens, "stop": stop,
        "median_step_s": round(statistics.median(seconds), 4),
        "mean_completion_tokens": round(statistics.mean(tokens) / batch, 2),
        "completion_tokens_per_step": round(statistics.mean(tokens), 1),
        "step_s": [round(s, 3) for s in seconds], "step_completion_tokens": tokens, "steps_timed": len(seconds),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9, 2),
    }))


if __name__ == "__main__":
    main()
