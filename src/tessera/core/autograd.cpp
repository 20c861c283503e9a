#include "tessera/core/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "tessera/core/ops.h"

namespace tessera {

namespace {
thread_local bool t_grad_mode = true;
}

bool grad_mode_enabled() { return t_grad_mode; }

NoGrad::NoGrad() : previous_(t_grad_mode) { t_grad_mode = false; }
NoGrad::~NoGrad() { t_grad_mode = previous_; }
EnableGrad::EnableGrad() : previous_(t_grad_mode) { t_grad_mode = true; }
EnableGrad::~EnableGrad() { t_grad_mode = previous_; }

bool should_record(std::initializer_list<const Tensor*> inputs) {
  if (!t_grad_mode) return false;
  for (const Tensor* t : inputs) {
    if (t != nullptr && t->requires_grad()) return true;
  }
  return false;
}

bool should_record(const std::vector<Tensor>& inputs) {
  if (!t_grad_mode) return false;
  for (const Tensor& t : inputs) {
    if (t.requires_grad()) return true;
  }
  return false;
}

void record(Tensor& output, const char* op, std::vector<Tensor> inputs, BackwardFn backward) {
  auto node = std::make_shared<Node>();
  node->op = op;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  output.impl()->requires_grad = true;
  output.set_grad_fn(std::move(node));
}

namespace {

// Adds `g` into `slot`, reducing broadcast axes when an op's gradient came out larger.
void accumulate_into(Tensor& slot, const Tensor& g, const Tensor& target) {
  Tensor grad = g.shape() == target.shape() ? g : sum_to(g, target.shape());
  if (grad.dtype() != target.dtype()) grad = grad.to(target.dtype());
  if (!slot.defined()) {
    // Never alias a gradient another node may still hold; own a contiguous copy.
    slot = grad.clone();
  } else {
    add_(slot, grad);
  }
}

// Nodes reachable from `root`, each after all nodes that consume its output.
std::vector<Node*> topological_order(Node* root) {
  std::vector<Node*> order;
  std::unordered_set<Node*> visited;
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  visited.insert(root);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const Tensor& in = node->inputs[next++];
      if (in.defined() && in.grad_fn() && !visited.count(in.grad_fn().get())) {
        visited.insert(in.grad_fn().get());
        stack.push_back({in.grad_fn().get(), 0});
      }
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  std::reverse(order.begin(), order.end());  // root first
  return order;
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& seed, bool retain_graph) {
  NoGrad no_grad;
  Node* root_node = root.grad_fn().get();
  if (root_node == nullptr) {  // a leaf: its gradient is the seed
    Tensor slot = root.grad();
    accumulate_into(slot, seed, root);
    const_cast<Tensor&>(root).set_grad(slot);
    return;
  }
  // Keep every node alive while we run, even if a tensor that owned it goes away.
  std::vector<std::shared_ptr<Node>> keep_alive;
  std::vector<Node*> order = topological_order(root_node);
  std::unordered_map<Node*, Tensor> pending;  // gradient w.r.t. each node's output
  pending[root_node] = seed;
  for (Node* node : order) {
    auto it = pending.find(node);
    if (it == pending.end()) continue;  // no gradient reached it
    Tensor grad_out = std::move(it->second);
    pending.erase(it);
    TESSERA_CHECK(node->backward != nullptr,
                  "backward through op '{}' a second time; pass retain_graph to the first",
                  node->op);
    std::vector<Tensor> grads = node->backward(grad_out);
    TESSERA_CHECK(grads.size() == node->inputs.size(), "op '{}' returned {} gradients for {} inputs",
                  node->op, grads.size(), node->inputs.size());
    for (size_t i = 0; i < grads.size(); ++i) {
      Tensor& input = node->inputs[i];
      if (!grads[i].defined() || !input.defined() || !input.requires_grad()) continue;
      if (input.grad_fn()) {
        keep_alive.push_back(input.grad_fn());
        accumulate_into(pending[input.grad_fn().get()], grads[i], input);
      } else {
        Tensor slot = input.grad();
        accumulate_into(slot, grads[i], input);
        input.set_grad(slot);
      }
    }
    if (!retain_graph) {
      node->backward = nullptr;  // frees saved activations
      node->inputs.clear();
    }
  }
}

}  // namespace tessera
