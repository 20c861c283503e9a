#pragma once
// Reverse-mode autograd. Each op run in grad mode on inputs that require grad records a Node
// on its output: the inputs and a closure that maps the output's gradient to the inputs'
// gradients. The nodes reachable from a tensor form its tape; backward() walks it once in
// reverse topological order, accumulates into leaves' .grad and frees it.
#include <functional>
#include <vector>

#include "tessera/core/tensor.h"

namespace tessera {

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  const char* op = "";
  std::vector<Tensor> inputs;  // one per differentiable input, in the closure's output order
  BackwardFn backward;         // returns one gradient per input (undefined = no gradient)
};

bool grad_mode_enabled();

// Turns recording off for its lifetime (optimizer steps, evaluation, decoding).
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};

// Turns recording back on inside a NoGrad scope (rarely needed).
class EnableGrad {
 public:
  EnableGrad();
  ~EnableGrad();

 private:
  bool previous_;
};

// True when grad mode is on and any of `inputs` requires grad: the op must record.
bool should_record(std::initializer_list<const Tensor*> inputs);
bool should_record(const std::vector<Tensor>& inputs);

// Records `backward` for `output` (marks it as requiring grad). Call only when should_record.
void record(Tensor& output, const char* op, std::vector<Tensor> inputs, BackwardFn backward);

// Runs backward from `root` with gradient `seed` (same shape and dtype as root).
void run_backward(const Tensor& root, const Tensor& seed, bool retain_graph);

}  // namespace tessera
