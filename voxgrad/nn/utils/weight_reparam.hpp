#pragma once
// Weight reparametrisations, as PyTorch 1.13's torch.nn.utils.spectral_norm
// and weight_norm (with remove_spectral_norm / remove_weight_norm): the
// layer's forward reads a weight computed before every call, by a forward
// pre-hook, from parameters and buffers stored under PyTorch's names, so a
// PyTorch state_dict of a normalised model loads as it is (after the usual
// layout conversion of tools/torch_to_voxgrad.py).
//
// ```cpp
// auto fc = nn::utils::spectral_norm(nn::Linear(16, 8));
// fc->named_parameters();  // bias, weight_orig
// fc->named_buffers();     // weight_u, weight_v
// Tensor y = fc(x);        // fc->weight() = weight_orig / sigma now
// nn::utils::remove_spectral_norm(*fc);  // a plain "weight" again
// ```
//
// They work on Linear, Conv3d, ConvTranspose3d and Embedding (weight or
// bias), and on any module that registers the parameter with its member
// (NOTE [ Reparametrised parameters ] in voxgrad/nn/module.hpp). The hooks
// run when the module is called through its handle or a container
// (`fc(x)`), not on the bare `fc->forward(x)` (NOTE [ Forward hooks ]).
// A grouped conv's weight is the 6-D view (g, A/g, B, k...) of PyTorch's
// (A, B, k...) (SPEC): `dim` counts PyTorch's axes, and weight_g has
// PyTorch's shape.
//
// Not done: PyTorch's loading of spectral-norm state dicts saved before
// PyTorch 1.0 (without weight_u / weight_v versions); torch.nn.utils.
// parametrize / parametrizations (the newer, general mechanism).

#include <cstdint>
#include <optional>
#include <string>

#include "voxgrad/export.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::nn::utils {

/// Spectral normalisation (Miyato et al., 2018): forward reads
/// `name` = `name`_orig / sigma, where sigma estimates the largest singular
/// value of `name`_orig as a matrix (axis `dim` first, the others
/// flattened) by power iteration: in training mode each call first runs
/// n_power_iterations steps v = normalize(W^T u), u = normalize(W v) (in
/// place, unrecorded; normalize(x) = x / max(|x|, eps)), then
/// sigma = u . (W v) with u and v constants, so the gradient reaches W
/// through W itself and through sigma as in PyTorch. Eval mode uses u and v
/// as they are. State, under PyTorch's names: the parameter `name`_orig (the
/// former parameter itself, so an optimizer holding it keeps training it),
/// buffers `name`_u (the matrix's height) and `name`_v (its width), drawn
/// from N(0, 1) with the global generator and normalised. dim defaults to 0,
/// or 1 for a ConvTranspose3d (its weight is (in, out, k...)); negative
/// counts from the end. Errors: no such parameter, one not bound to a member,
/// a parameter already reparametrised, n_power_iterations < 1, eps not
/// finite and > 0, dim out of range, a 0-d parameter. Returns the module.
/// ```cpp
/// nn::utils::spectral_norm(*conv);
/// ```
Module& spectral_norm(
    Module& module,
    const std::string& name = "weight",
    int64_t n_power_iterations = 1,
    double eps = 1e-12,
    std::optional<int64_t> dim = std::nullopt);
/// The same on a handle, returned for chaining:
/// ```cpp
/// auto fc = nn::utils::spectral_norm(nn::Linear(16, 8));
/// ```
template <module_holder H>
H spectral_norm(
    H module,
    const std::string& name = "weight",
    int64_t n_power_iterations = 1,
    double eps = 1e-12,
    std::optional<int64_t> dim = std::nullopt) {
  spectral_norm(
      static_cast<Module&>(*module), name, n_power_iterations, eps, dim);
  return module;
}

/// Undoes spectral_norm: `name` becomes a parameter again holding
/// weight_orig / sigma (u, v as they are, no power iteration), a new
/// tensor (as PyTorch's new Parameter) that keeps weight_orig's
/// requires_grad; weight_orig, u, v and the hook go. Throws if spectral_norm
/// of `name` is not applied.
Module& remove_spectral_norm(
    Module& module, const std::string& name = "weight");
template <module_holder H>
H remove_spectral_norm(H module, const std::string& name = "weight") {
  remove_spectral_norm(static_cast<Module&>(*module), name);
  return module;
}

/// Weight normalisation (Salimans & Kingma, 2016): forward reads
/// `name` = `name`_v * (`name`_g / |`name`_v|), the norm taken over every
/// axis but `dim` (PyTorch's norm_except_dim), or over all axes when dim is
/// std::nullopt or -1 (PyTorch's convention for -1; other negative dims
/// count from the end). Parameters, under PyTorch's names: `name`_g, the
/// norms (size 1 on every axis but dim; 0-d for the whole tensor), and
/// `name`_v, the former parameter itself. Recomputed before every call, in
/// both modes. Errors as spectral_norm's. Returns the module.
/// ```cpp
/// nn::utils::weight_norm(*fc);
/// ```
Module& weight_norm(
    Module& module,
    const std::string& name = "weight",
    std::optional<int64_t> dim = 0);
template <module_holder H>
H weight_norm(
    H module,
    const std::string& name = "weight",
    std::optional<int64_t> dim = 0) {
  weight_norm(static_cast<Module&>(*module), name, dim);
  return module;
}

/// Undoes weight_norm: `name` becomes a parameter again holding the current
/// v * g / |v| (a new tensor keeping weight_v's requires_grad); weight_g,
/// weight_v and the hook go. Throws if weight_norm of `name` is not applied.
Module& remove_weight_norm(Module& module, const std::string& name = "weight");
template <module_holder H>
H remove_weight_norm(H module, const std::string& name = "weight") {
  remove_weight_norm(static_cast<Module&>(*module), name);
  return module;
}

}  // namespace voxgrad::nn::utils

VOXGRAD_PUBLIC_END
