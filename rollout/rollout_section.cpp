// Keys of the [rollout] section.
#include "rollout/rollout_section.hpp"

namespace aha::rollout {

void bind(config::Binder& b, RolloutSection& s) {
  b.integer({"group_size", "completions sampled per prompt (G); advantages are relative to the group"}, s.group_size, 8,
            {2, 1024});
  b.integer({"prompts_per_step", "prompts per optimizer step; the step trains on prompts_per_step * group_size "
                                 "completions"},
            s.prompts_per_step, 16, {1, 65536});
  b.integer({"max_new_tokens", "longest completion; longer ones are cut and marked truncated"}, s.max_new_tokens, 512,
            {1, 1 << 20});
  b.number({"temperature", "sampling temperature"}, s.temperature, 1.0, {0.0, 100.0, true, false});
  b.number({"top_p", "nucleus sampling: keep the smallest set of tokens whose probability reaches top_p"}, s.top_p, 1.0,
           {0.0, 1.0, true, false});
  b.integer({"top_k", "keep only the k most likely tokens; 0: off"}, s.top_k, 0, {0, 1 << 20});
  b.number({"min_p", "drop tokens less likely than min_p times the most likely one; 0: off"}, s.min_p, 0.0,
           {0.0, 1.0, false, true});
  b.texts({"stop", "strings that end a completion (kept in it); the tokenizer's EOS always does"}, s.stop,
          {"</answer>"});
  b.integer({"workers", "rollout worker threads on this machine, all reading the policy's one copy of the weights; "
                        "they split the prompts and train.threads (with as many workers as threads, each samples "
                        "on one). One worker on every thread reads the weights once per token for all rows: best "
                        "for large models"},
            s.workers, 1, {1, 256});
  b.integer({"queue_size", "groups buffered between the rollout workers and the trainer"}, s.queue_size, 4, {1, 4096});
  b.integer({"max_staleness", "k: sample the next k steps while this one trains, so a step costs about max(sampling, "
                              "training) instead of their sum. Step n's batch always comes from the weights after "
                              "step n - 1 - k (the schedule fixes it, never timing), so runs repeat and resume bit for "
                              "bit; each step in flight holds a copy of the weights. A stale batch's ratio is taken "
                              "against the sampler's log-probs unless grpo.rollout_correction is set (docs/"
                              "algorithms.md). 0: on-policy, each step samples with the weights it trains"},
            s.max_staleness, 0, {0, 16});
  b.texts({"endpoints", "remote rollout workers (`aha rollout-worker`) as http://host:port; groups are spread over "
                        "them; empty: sample in this process"},
          s.endpoints, {});
  b.text({"token_file", "file holding the bearer token of the remote workers (needed with endpoints)"}, s.token_file,
         "");
  b.number({"request_timeout_s", "a remote worker that takes longer for one request is given up and its groups "
                                 "go to another"},
           s.request_timeout_s, 600.0, {0.0, 1e7, true, false});
  b.text({"weights_folder", "shared storage the remote workers can read: each new version of the weights is saved "
                            "there as a Hugging Face checkpoint for them to load; empty: sent in the request body"},
         s.weights_folder, "");
  b.text({"weights_route", "with weights_folder: the route each worker is asked to load it through, with JSON "
                           "{\"path\", \"model_path\", \"version\"} (SGLang: /update_weights_from_disk)"},
         s.weights_route, "/v1/weights");
}

}  // namespace aha::rollout
