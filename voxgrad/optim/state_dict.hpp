#pragma once
// optim::OptimizerStateDict: an optimizer's state by parameter name, what
// Optimizer::state_dict() returns and load_state_dict() takes. Its own
// header because a group's options are a JSON value (PyTorch's param_group
// dict), and <voxgrad/voxgrad.hpp> keeps nlohmann/json.hpp out of the code
// that only trains: include this header to use an optimizer's state dict.
//
// ```cpp
// optim::OptimizerStateDict sd = opt.state_dict(model.named_parameters());
// double lr = sd.param_groups[0].options["lr"];
// ```

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "voxgrad/export.hpp"
#include "voxgrad/optim/optimizer.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::optim {

/// An optimizer's state by parameter name, ready for a checkpoint.
struct OptimizerStateDict {
  /// One parameter group: its options and the names of its parameters.
  struct Group {
    /// The group's options as to_json() writes them, plus "initial_lr" when
    /// a scheduler set it.
    nlohmann::json options;
    /// Names of the group's parameters, in the group's order.
    std::vector<std::string> params;
  };
  /// "SGD", "Adam" or "AdamW".
  std::string type;
  std::vector<Group> param_groups;
  /// Only parameters that have been stepped have state.
  std::map<std::string, ParamState> state;
};

}  // namespace voxgrad::optim

VOXGRAD_PUBLIC_END
