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


class _Container(Module):
    """A Module that shows one of its registries (``registry`` names it) as a list or a dict.

    ``kind`` ("module" or "parameter") is for messages; ``_store`` registers one value.
    """

    kind = ""
    registry = ""

    @property
    def _entries(self) -> dict:
        return getattr(self, self.registry)

    def _store(self, name: str, value) -> None:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._entries)


class _ListContainer(_Container):
    """Entries named '0', '1', ... in order; indexable and sliceable like a list."""

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def __getitem__(self, index):
        values = list(self._entries.values())
        if isinstance(index, slice):
            return type(self)(values[index])
        return values[_position(type(self).__name__, index, len(values))]

    def __setitem__(self, index, value) -> None:
        self._store(str(_position(type(self).__name__, index, len(self))), value)

    def __iter__(self):
        return iter(self._entries.values())

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value):
        self._store(str(len(self)), value)
        return self

    def extend(self, values):
        if isinstance(values, Tensor) or not hasattr(values, "__iter__"):
            raise TypeError(f"{type(self).__name__}.extend: expected an iterable of {self.kind.capitalize()}s, "
                            f"got {type(values).__name__}")
        for value in values:
            self.append(value)
        return self


class _DictContainer(_Container):
    """Entries under string keys, in insertion order; a dict's methods."""

    def __init__(self, entries=None):
        super().__init__()
        if entries is not None:
            self.update(entries)

    def _check_key(self, key) -> None:
        if key not in self._entries:
            raise KeyError(f"{type(self).__name__}: no {self.kind} named {key!r} (keys {list(self._entries)})")

    def __getitem__(self, key: str):
        self._check_key(key)
        return self._entries[key]

    def __setitem__(self, key: str, value) -> None:
        self._store(key, value)

    def __delitem__(self, key: str) -> None:
        self._check_key(key)
        del self._entries[key]

    def __iter__(self):
        return iter(self._entries)

    def __contains__(self, key) -> bool:
        return key in self._entries

    def keys(self):
        return self._entries.keys()

    def items(self):
        return self._entries.items()

    def values(self):
        return self._entries.values()

    def pop(self, key: str):
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        self._entries.clear()

    def update(self, entries) -> None:
        """Set every (key, value) of a dict, or of an iterable of pairs."""
        for key, value in _pairs(type(self).__name__, entries):
            self[key] = value


class _ModuleRegistry(_Container):
    kind, registry = "module", "_modules"

    def _store(self, name: str, module) -> None:
        self.add_module(name, module)


class _ParameterRegistry(_Container):
    """A plain Tensor stored becomes a Parameter sharing its data, as in torch."""

    kind, registry = "parameter", "_parameters"

    def _store(self, name: str, value) -> None:
        self.register_parameter(name, _as_parameter(type(self).__name__, value))

    def extra_repr(self) -> str:
        return "\n".join(f"({name}): Parameter of shape {p.shape}, dtype {p.dtype}"
                         for name, p in self._parameters.items())


class ModuleList(_ModuleRegistry, _ListContainer):
    """A list of Modules, registered as children ``'0'``, ``'1'``, ...; indexable like a list.

    ``ModuleList(modules=None)``. It has no ``forward``: iterate over it in yours.
    """

    def __init__(self, modules=None):
        super().__init__(modules)

    def _renumber(self, modules: list) -> None:
        """Register ``modules`` afresh as '0', '1', ..., as PyTorch does after a deletion or insertion."""
        self._modules.clear()
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def __delitem__(self, index) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[_position("ModuleList", index, len(modules))]
        self._renumber(modules)

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)


class ModuleDict(_ModuleRegistry, _DictContainer):
    """A dict of Modules, registered as children under their keys (strings), in insertion order.

    ``ModuleDict(modules=None)``: a dict, or an iterable of ``(key, module)`` pairs.
    """

    def __init__(self, modules=None):
        super().__init__(modules)


class ParameterList(_ParameterRegistry, _ListContainer):
    """A list of Parameters, registered as ``'0'``, ``'1'``, ...; a plain Tensor becomes a Parameter.

    ``ParameterList(values=None)``.
    """

    def __init__(self, values=None):
        super().__init__(values)


class ParameterDict(_ParameterRegistry, _DictContainer):
    """A dict of Parameters, registered under their keys (strings); a plain Tensor becomes a Parameter.

    ``ParameterDict(parameters=None)``: a dict, or an iterable of ``(key, parameter)`` pairs.
    """

    def __init__(self, parameters=None):
        super().__init__(parameters)
