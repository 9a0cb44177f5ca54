// The pieces of charrnn._core, each adding its names to the module (module.cpp calls them).
#pragma once

#include <pybind11/pybind11.h>

namespace charrnn::bindings {

void bind_params(pybind11::module_& m);     // params.cpp: Params, Params32
void bind_functions(pybind11::module_& m);  // functions.cpp: layout, forward_backward, loss, ...
void bind_trainer(pybind11::module_& m);    // trainer.cpp: Trainer, Trainer32
void bind_inspect(pybind11::module_& m);    // inspect.cpp: inspect_forward

}  // namespace charrnn::bindings
