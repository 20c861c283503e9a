#pragma once
// Loading a checkpoint builds the model first and then overwrites every parameter, so random
// initialisation there is wasted work (seconds for a 1B model: a normal draw per weight).
// While a SkipParameterInit is alive on this thread, layer factories (Linear, Embedding)
// allocate their weights without drawing them; the loader must fill every one of them.
namespace tessera::nn {

class SkipParameterInit {
 public:
  SkipParameterInit();
  ~SkipParameterInit();
  SkipParameterInit(const SkipParameterInit&) = delete;
  SkipParameterInit& operator=(const SkipParameterInit&) = delete;

 private:
  bool previous_;
};

bool parameter_init_skipped();

}  // namespace tessera::nn
