"""Module and Parameter: the containers that hold a model's weights.

A Module keeps three ordered registries, filled by plain attribute
assignment as in PyTorch: ``_parameters`` (Parameters, or None for an
optional one such as a missing bias), ``_buffers`` (tensors that are state
but not trained) and ``_modules`` (submodules). Everything else (walking the
tree, dotted names, train/eval, state dicts) is built on those three dicts.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict, namedtuple

import numpy as np

from .. import arguments
from ..autograd import topological_order
from ..tensor import Conversions, Tensor, on_cpu, supported_dtype


class Parameter(Tensor):
    """A Tensor that is a trainable weight: it requires grad, and Modules register it.

    ``Parameter(data)``: ``data`` is a float ndarray (kept, not copied, with its
    dtype), a Tensor (its ``.data`` is taken) or a list of numbers (float32).
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data.data if isinstance(data, Tensor) else data)
        arguments.floating_point("Parameter", "data", self)
        self.requires_grad = requires_grad

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module(Conversions):
    """Base class of every layer and model; subclasses define ``forward``.

    Assigning a Parameter, a Module or (once registered) a buffer to an
    attribute registers it under that name, in order; ``named_parameters()``
    then walks the tree and names them with dots, as PyTorch does
    (``'rnn.weight_ih_l0'``, ``'layers.0.weight'``).
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}: forward() is not defined")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- registration --------------------------------------------------------------

    def _registries(self) -> tuple[dict, dict, dict]:
        try:
            state = self.__dict__
            return state["_parameters"], state["_buffers"], state["_modules"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            ) from None

    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__ and not isinstance(value, (Parameter, Module)):
            object.__setattr__(self, name, value)  # a plain attribute set before Module.__init__
            return
        params, buffers, modules = self._registries()
        if isinstance(value, Parameter):
            self._put(params, name, value)
        elif isinstance(value, Module):
            self._check_not_inside(name, value)
            self._put(modules, name, value)
        elif name in params or name in modules:  # a Parameter or a Module went above; None marks it absent
            registry, kind, expected = ((params, "parameter", "nn.Parameter") if name in params
                                        else (modules, "submodule", "nn.Module"))
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} to {kind} "
                                f"'{name}' ({expected} or None expected)")
            registry[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} to buffer "
                    f"'{name}' (Tensor or None expected)"
                )
            buffers[name] = value
        else:
            self._warn_if_unregistered_container(name, value)
            object.__setattr__(self, name, value)

    def _warn_if_unregistered_container(self, name: str, value) -> None:
        """Warn when a list, tuple or dict of Modules or Parameters becomes a plain attribute.

        Their weights would silently be missing from ``parameters()`` (an optimizer
        would never train them), ``state_dict()`` and ``train()``/``eval()``.
        """
        if isinstance(value, (list, tuple)):
            items, kind = value, "List"
        elif isinstance(value, dict):
            items, kind = value.values(), "Dict"
        else:
            return
        for held in (Module, Parameter):
            if any(isinstance(item, held) for item in items):
                warnings.warn(
                    f"{type(self).__name__}: attribute '{name}' is a {type(value).__name__} of {held.__name__}s, "
                    f"which are not registered: parameters(), state_dict() and train() will not see "
                    f"them. Use nn.{held.__name__}{kind} instead.", UserWarning, stacklevel=3)
                return

    def __getattr__(self, name: str):
        # Only called when normal lookup fails: registered names live in the registries.
        for registry in self._registries():
            if name in registry:
                return registry[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in self._registries():
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def _put(self, registry: dict, name: str, value) -> None:
        """Register ``value`` under ``name``, keeping its place if ``registry`` already has it."""
        if name not in registry:
            self._forget(name)
        registry[name] = value

    def _forget(self, name: str) -> None:
        """Drop ``name`` from the plain attributes and from every registry."""
        self.__dict__.pop(name, None)
        for registry in self._registries():
            registry.pop(name, None)

    def _check_new_name(self, kind: str, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(
                f"{type(self).__name__}: {kind} name must be a str, got {type(name).__name__}"
            )
        if name == "" or "." in name:
            raise KeyError(
                f"{type(self).__name__}: {kind} name must be non-empty without '.', got {name!r}"
            )
        if hasattr(self, name):
            raise KeyError(f"{type(self).__name__}: attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, for an optional weight that is absent) under ``name``."""
        self._register("parameter", self._parameters, name, param, Parameter, "nn.Parameter or None expected")

    def register_buffer(self, name: str, tensor: Tensor | None) -> None:
        """Register a tensor that is part of the state (saved, converted) but not trained."""
        self._register("buffer", self._buffers, name, tensor, Tensor, "Tensor or None expected")

    def _register(self, kind: str, registry: dict, name: str, value, cls: type, expected: str) -> None:
        if not isinstance(value, cls) and value is not None:
            raise TypeError(
                f"{type(self).__name__}: cannot register {type(value).__name__} as {kind} '{name}' ({expected})"
            )
        if name not in registry:
            self._check_new_name(kind, name)
        self._put(registry, name, value)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child under ``name`` (which may be a number, like '0')."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{type(self).__name__}: {type(module).__name__} is not a Module")
        if name not in self._modules:
            self._check_new_name("module", name)
        if module is not None:
            self._check_not_inside(name, module)
        self._put(self._modules, name, module)

    def _check_not_inside(self, name: str, module: Module) -> None:
        """Refuse this module as its own child: every walk of the tree would loop.

        A longer cycle (``a.b = b; b.a = a``) would cost a walk of the child's
        subtree to see here, at every registration; the walks themselves find it
        instead (``named_modules``, ``__repr__``) and raise.
        """
        if module is self:
            raise ValueError(f"{type(self).__name__}: cannot register module '{name}': it is this "
                             "module itself, and a module tree cannot have cycles")

    # -- walking the tree ------------------------------------------------------------

    def named_modules(self, prefix: str = "", remove_duplicate: bool = True):
        """(dotted name, module) for self and every submodule, parents before children.

        A module reachable by two paths is listed once unless ``remove_duplicate`` is False.
        A cycle (``a.b = b; b.a = a``: a module that is its own ancestor) makes the walk
        raise ValueError instead of looping, and so every method built on it.
        """
        seen, ancestors = set(), set()  # ancestors: the ids of the modules on the path to the current one
        stack = [(prefix, self, False)]  # (name, module, leaving): leaving takes it off the path again
        while stack:
            name, module, leaving = stack.pop()
            if leaving:
                ancestors.discard(id(module))
                continue
            if id(module) in ancestors:
                raise ValueError(f"{type(self).__name__}: the module tree has a cycle: the module at '{name}' "
                                 "is one of its own ancestors (a module tree cannot contain itself)")
            if remove_duplicate:
                if id(module) in seen:
                    continue
                seen.add(id(module))
            yield name, module
            ancestors.add(id(module))
            stack.append((name, module, True))
            children = [(f"{name}.{key}" if name else key, child, False)
                        for key, child in module._modules.items() if child is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool):
        modules = self.named_modules(prefix, remove_duplicate) if recurse else [(prefix, self)]
        seen = set()
        for module_name, module in modules:
            for name, member in getattr(module, registry).items():
                if member is None or (remove_duplicate and id(member) in seen):
                    continue
                seen.add(id(member))
                yield (f"{module_name}.{name}" if module_name else name), member

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True):
        """(dotted name, Parameter) pairs; a parameter shared by two modules comes once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on every submodule, children before parents, then on self."""
        for module in topological_order([self], lambda module: tuple(module.children())):
            fn(module)
        return self

    # -- modes and gradients ---------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set ``.training`` on self and every submodule (Dropout acts only in training)."""
        if not isinstance(mode, bool):
            raise ValueError(f"{type(self).__name__}.train: mode must be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``.grad = None`` (or zeros in place if ``set_to_none=False``)."""
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad[...] = 0

    # -- dtype -----------------------------------------------------------------------

    def to(self, dtype) -> Module:
        """Convert every floating-point parameter, gradient and buffer to ``dtype``, in place.

        ``dtype``: float16, float32 or float64 (a big-endian one means the same
        here). The Parameter objects stay the same (an optimizer holding them
        keeps working); only their ``.data`` is replaced. Integer buffers are
        left alone. ``to("cpu")`` leaves the module as it is: this library runs on the CPU only,
        and any other device is a ValueError.
        """
        if on_cpu(f"{type(self).__name__}.to", dtype):
            return self
        owner = f"{type(self).__name__}.to"
        dtype = arguments.floating_dtype(owner, "dtype", supported_dtype(owner, dtype))
        tensors = list(self.parameters()) + list(self.buffers())
        for tensor in tensors:
            if tensor.dtype.kind == "f" and tensor.dtype != dtype:
                tensor.data = tensor.data.astype(dtype)  # a write: graphs that saved the old data cannot backward
                if tensor.grad is not None:
                    tensor.grad = tensor.grad.astype(dtype)
        return self

    # -- state -----------------------------------------------------------------------

    def _state_tensors(self) -> OrderedDict:
        """Dotted name -> tensor, for every parameter and buffer, as PyTorch orders a state dict.

        Shared tensors appear under each of their names, so a state dict lists them all.
        """
        state = OrderedDict()
        for module_name, module in self.named_modules(remove_duplicate=False):
            for registry in (module._parameters, module._buffers):
                for name, tensor in registry.items():
                    if tensor is not None:
                        state[f"{module_name}.{name}" if module_name else name] = tensor
        return state

    def state_dict(self) -> OrderedDict:
        """Ordered dict of dotted name -> a copy of the parameter's or buffer's ndarray."""
        return OrderedDict((name, t.data.copy()) for name, t in self._state_tensors().items())

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy the arrays of ``state_dict`` into this module's parameters and buffers, in place.

        Values may be ndarrays or Tensors. Shapes must match exactly; dtypes
        are cast when numpy calls it safe within a kind (float64 <-> float32,
        int -> float), while float -> int is refused. With ``strict`` every
        name must match both ways. Everything is checked before anything is
        copied, so a failed load leaves the module as it was. Returns
        ``(missing_keys, unexpected_keys)``.
        """
        own = self._state_tensors()
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        updates = []
        for name, tensor in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            if value.shape != tensor.shape:
                problems.append(
                    f"size mismatch for '{name}': the state dict has shape {value.shape}, "
                    f"the module has shape {tensor.shape}"
                )
            elif not np.can_cast(value.dtype, tensor.dtype, "same_kind"):
                problems.append(
                    f"dtype mismatch for '{name}': cannot cast {value.dtype} from the state dict "
                    f"to the module's {tensor.dtype}"
                )
            else:
                updates.append((tensor, value))
        if problems:
            raise ValueError(
                f"load_state_dict for {type(self).__name__}: " + "; ".join(problems)
            )
        for tensor, value in updates:
            np.copyto(tensor.data, value, casting="same_kind")
            tensor._bump_version()
        return IncompatibleKeys(missing, unexpected)

    # -- printing --------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside ``Name(...)`` besides the children; layers override it."""
        return ""

    def __repr__(self) -> str:
        for _ in self.named_modules():  # raises on a cycle, where the recursion below would not end
            pass
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not self._modules:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
