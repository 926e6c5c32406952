"""Containers that register what they hold: ModuleList, ModuleDict, ParameterList, ParameterDict.

A plain Python list of layers assigned to a Module attribute is invisible to
``parameters()``, ``state_dict()`` and ``train()``: the Module only registers
Modules and Parameters. These containers are themselves Modules whose
children (or parameters) are named ``'0'``, ``'1'``, ... (or by key), so a
model's weights are named ``'layers.0.weight'`` as in PyTorch and move to and
from ``torch.nn`` by state dict.
"""

from __future__ import annotations

import operator

from ..tensor import Tensor
from .module import Module, Parameter


def _position(owner: str, index, length: int) -> int:
    """``index`` (an int, negative counting from the end) as a position in ``[0, length)``."""
    try:
        index = operator.index(index)
    except TypeError:
        raise TypeError(f"{owner}: indices must be ints or slices, got {type(index).__name__}") from None
    if not -length <= index < length:
        raise IndexError(f"{owner}: index {index} is out of range for {length} entries")
    return index % length


def _pairs(owner: str, entries):
    """The (key, value) pairs of a dict, or of an iterable of pairs, checked."""
    entries = list(entries.items() if hasattr(entries, "items") else entries)
    for entry in entries:
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            raise TypeError(f"{owner}.update: expected a dict or (key, value) pairs, got an entry {entry!r}")
    return entries


def _as_parameter(owner: str, value) -> Parameter:
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)  # as torch does: the Parameter shares the tensor's data
    raise TypeError(f"{owner}: expected a Parameter or a Tensor, got {type(value).__name__}")


def _describe_parameters(parameters: dict) -> str:
    return "\n".join(f"({name}): Parameter of shape {p.shape}, dtype {p.dtype}" for name, p in parameters.items())


class ModuleList(Module):
    """A list of Modules, registered as children ``'0'``, ``'1'``, ...; indexable like a list.

    ``ModuleList(modules=None)``. It has no ``forward``: iterate over it in yours.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _renumber(self, modules: list) -> None:
        """Register ``modules`` afresh as '0', '1', ..., as PyTorch does after a deletion or insertion."""
        self._modules.clear()
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[_position("ModuleList", index, len(modules))]

    def __setitem__(self, index, module: Module) -> None:
        self.add_module(str(_position("ModuleList", index, len(self))), module)

    def __delitem__(self, index) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[_position("ModuleList", index, len(modules))]
        self._renumber(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules) -> ModuleList:
        return self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> ModuleList:
        if not hasattr(modules, "__iter__"):
            raise TypeError(f"ModuleList.extend: expected an iterable of Modules, got {type(modules).__name__}")
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)


class ModuleDict(Module):
    """A dict of Modules, registered as children under their keys (strings), in insertion order.

    ``ModuleDict(modules=None)``: a dict, or an iterable of ``(key, module)`` pairs.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _check_key(self, key) -> None:
        if key not in self._modules:
            raise KeyError(f"ModuleDict: no module named {key!r} (keys {list(self._modules)})")

    def __getitem__(self, key: str) -> Module:
        self._check_key(key)
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        self._check_key(key)
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules) -> None:
        for key, module in _pairs("ModuleDict", modules):
            self[key] = module


class ParameterList(Module):
    """A list of Parameters, registered as ``'0'``, ``'1'``, ...; a plain Tensor becomes a Parameter.

    ``ParameterList(values=None)``.
    """

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def __getitem__(self, index):
        params = list(self._parameters.values())
        if isinstance(index, slice):
            return ParameterList(params[index])
        return params[_position("ParameterList", index, len(params))]

    def __setitem__(self, index, value) -> None:
        position = _position("ParameterList", index, len(self))
        self.register_parameter(str(position), _as_parameter("ParameterList", value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def __iadd__(self, values) -> ParameterList:
        return self.extend(values)

    def append(self, value) -> ParameterList:
        self.register_parameter(str(len(self)), _as_parameter("ParameterList", value))
        return self

    def extend(self, values) -> ParameterList:
        if isinstance(values, Tensor) or not hasattr(values, "__iter__"):
            raise TypeError(f"ParameterList.extend: expected an iterable of Parameters, got {type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return _describe_parameters(self._parameters)


class ParameterDict(Module):
    """A dict of Parameters, registered under their keys (strings); a plain Tensor becomes a Parameter.

    ``ParameterDict(parameters=None)``: a dict, or an iterable of ``(key, parameter)`` pairs.
    """

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def _check_key(self, key) -> None:
        if key not in self._parameters:
            raise KeyError(f"ParameterDict: no parameter named {key!r} (keys {list(self._parameters)})")

    def __getitem__(self, key: str) -> Parameter:
        self._check_key(key)
        return self._parameters[key]

    def __setitem__(self, key: str, value) -> None:
        self.register_parameter(key, _as_parameter("ParameterDict", value))

    def __delitem__(self, key: str) -> None:
        self._check_key(key)
        del self._parameters[key]

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, key) -> bool:
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def items(self):
        return self._parameters.items()

    def values(self):
        return self._parameters.values()

    def update(self, parameters) -> None:
        for key, value in _pairs("ParameterDict", parameters):
            self[key] = value

    def extra_repr(self) -> str:
        return _describe_parameters(self._parameters)
