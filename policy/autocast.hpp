// Mixed precision by scope: inside an AutocastScope the matrix products of one device type run in
// a lower precision (bf16) while parameters, the residual stream, norms and softmaxes stay
// float32 (ATen's autocast lists); a scope without a dtype turns autocast off, for the parts
// that must stay float32 (the MoE router).
#pragma once

#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include <optional>

namespace aha::policy {

class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, std::optional<c10::ScalarType> dtype);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool was_enabled_;
  c10::ScalarType previous_dtype_;
};

}  // namespace aha::policy
