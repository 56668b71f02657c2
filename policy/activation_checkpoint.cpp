// checkpointed_layer as a custom autograd function whose inputs are the layer's input and
// parameters.
#include "policy/activation_checkpoint.hpp"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include "policy/transformer.hpp"

namespace aha::policy {

namespace {

// What the backward needs to run the layer again.
struct LayerRun : torch::CustomClassHolder {
  DecoderLayerImpl* layer = nullptr;
  AttentionInputs in;  // the pass's, its layout included
  at::Tensor replay;   // experts forced on the first run (undefined: the router's own)
  RouterTrace trace;   // the first run's routing; its experts are forced on the second
  bool moe = false;
};

class CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
 public:
  // -> {output, router logits [tokens, experts] for MoE layers}
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                                                at::TensorList /*parameters: inputs for autograd*/,
                                                const c10::intrusive_ptr<LayerRun>& run) {
    LayerCache scratch;
    const at::Tensor out = run->layer->forward(x, run->in, scratch, run->moe ? &run->trace : nullptr, run->replay);
    ctx->save_for_backward({x});
    ctx->saved_data["run"] = c10::IValue::make_capsule(run);
    if (!run->moe) return {out};
    return {out, run->trace.logits};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto run = c10::static_intrusive_pointer_cast<LayerRun>(ctx->saved_data["run"].toCapsule());
    const at::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    std::vector<at::Tensor> outputs, output_grads, inputs{x};
    const auto parameters = run->layer->parameters();
    for (const auto& p : parameters)
      if (p.requires_grad()) inputs.push_back(p);
    {
      const at::AutoGradMode with_gradients(true);
      LayerCache scratch;
      RouterTrace trace;
      outputs.push_back(run->layer->forward(x, run->in, scratch, run->moe ? &trace : nullptr,
                                            run->moe ? run->trace.experts : at::Tensor()));
      output_grads.push_back(grads[0]);
      if (run->moe && grads.size() > 1 && grads[1].defined()) {
        outputs.push_back(trace.logits);
        output_grads.push_back(grads[1]);
      }
    }
    const auto computed = torch::autograd::grad(outputs, inputs, output_grads, /*retain_graph=*/false,
                                                /*create_graph=*/false, /*allow_unused=*/true);
    torch::autograd::variable_list result{computed[0]};
    std::size_t next = 1;
    for (const auto& p : parameters) result.push_back(p.requires_grad() ? computed[next++] : at::Tensor());
    result.emplace_back();  // the run
    return result;
  }
};

}  // namespace

at::Tensor checkpointed_layer(DecoderLayerImpl& layer, const at::Tensor& x, const AttentionInputs& in,
                              RouterTrace* trace, const at::Tensor& replay) {
  auto run = c10::make_intrusive<LayerRun>();
  run->layer = &layer;
  run->in = in;
  run->replay = replay;
  run->moe = trace != nullptr;
  const std::vector<at::Tensor> parameters = layer.parameters();
  const auto outputs = CheckpointedLayer::apply(x, at::TensorList(parameters), run);
  if (trace) *trace = {outputs[1], run->trace.experts, run->trace.own};
  return outputs[0];
}

}  // namespace aha::policy
