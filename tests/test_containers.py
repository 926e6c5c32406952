"""nn.ModuleList, nn.ModuleDict, nn.ParameterList, nn.ParameterDict, and the warning for plain lists."""

import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn


def linear(n_in=2, n_out=3):
    return nn.Linear(n_in, n_out, dtype=np.float64)


class Stack(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList(linear(a, b) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x).tanh()
        return x


def test_a_module_list_registers_its_modules_under_their_positions():
    model = Stack([2, 4, 3])
    assert [name for name, _ in model.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert list(model.state_dict()) == [name for name, _ in model.named_parameters()]
    model.eval()
    assert not model.layers[1].training
    x = Tensor(np.random.default_rng(0).standard_normal((5, 2)), requires_grad=True)
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_module_list_behaves_like_a_list():
    a, b, c, d = (linear() for _ in range(4))
    layers = nn.ModuleList([a, b])
    layers.append(c)
    layers += [d]
    assert len(layers) == 4 and list(layers) == [a, b, c, d]
    assert layers[-1] is d and layers[1] is b
    assert isinstance(layers[1:3], nn.ModuleList) and list(layers[1:3]) == [b, c]
    del layers[0]  # the rest are renumbered, as in PyTorch
    assert list(layers._modules) == ["0", "1", "2"] and list(layers) == [b, c, d]
    layers.insert(1, a)
    assert list(layers) == [b, a, c, d] and list(layers._modules) == ["0", "1", "2", "3"]
    layers[0] = c
    assert layers[0] is c
    del layers[1:3]
    assert list(layers) == [c, d]
    with pytest.raises(IndexError, match=r"ModuleList: index 2 is out of range for 2"):
        layers[2]
    with pytest.raises(TypeError, match="ModuleList: indices must be ints or slices, got str"):
        layers["0"]
    with pytest.raises(TypeError, match="ModuleList: Tensor is not a Module"):
        layers.append(Tensor([1.0]))
    with pytest.raises(TypeError, match="ModuleList.extend: expected an iterable of Modules, got Linear"):
        layers.extend(a)


def test_module_dict_behaves_like_a_dict():
    a, b = linear(), linear()
    heads = nn.ModuleDict({"tags": a})
    heads["chunks"] = b
    heads.update([("extra", linear())])
    assert list(heads) == ["tags", "chunks", "extra"] and list(heads.keys()) == list(heads)
    assert heads["chunks"] is b and "tags" in heads and len(heads) == 3
    assert [name for name, _ in heads.named_parameters()][:2] == ["tags.weight", "tags.bias"]
    assert heads.pop("extra") is not None and list(heads.values()) == [a, b]
    del heads["tags"]
    assert list(heads.items()) == [("chunks", b)]
    with pytest.raises(KeyError, match=r"ModuleDict: no module named 'tags' \(keys \['chunks'\]\)"):
        heads["tags"]
    with pytest.raises(TypeError, match="ModuleDict.update: expected a dict or"):
        heads.update(["no pair"])
    with pytest.raises(KeyError, match="attribute 'keys' already exists"):
        heads["keys"] = linear()  # would shadow the method, as torch refuses too
    heads.clear()
    assert len(heads) == 0 and list(heads.parameters()) == []


def test_parameter_list_and_dict_register_parameters_and_wrap_tensors():
    weights = nn.ParameterList([nn.Parameter(np.ones(2)), Tensor(np.zeros(3))])
    weights.append(Tensor(np.ones((2, 2))))
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in weights)
    assert [name for name, _ in weights.named_parameters()] == ["0", "1", "2"]
    assert weights[-1].shape == (2, 2) and [p.shape for p in weights[:2]] == [(2,), (3,)]
    weights[1] = nn.Parameter(np.full(3, 5.0))
    assert weights[1].data[0] == 5.0 and len(weights) == 3
    with pytest.raises(TypeError, match="ParameterList: expected a Parameter or a Tensor, got list"):
        weights.append([1.0])
    with pytest.raises(TypeError, match="ParameterList.extend: expected an iterable of Parameters, got Tensor"):
        weights.extend(Tensor(np.ones(2)))

    table = nn.ParameterDict({"scale": Tensor(np.ones(2))})
    table["shift"] = nn.Parameter(np.zeros(2))
    assert list(table) == ["scale", "shift"] and isinstance(table["scale"], nn.Parameter)
    assert list(table.state_dict()) == ["scale", "shift"]
    del table["scale"]
    with pytest.raises(KeyError, match="ParameterDict: no parameter named 'scale'"):
        table["scale"]
    assert "shift" in repr(table) and "(2,)" in repr(table)


def test_an_optimizer_trains_what_a_module_list_holds():
    tg.manual_seed(0)
    model = Stack([2, 3, 1])
    before = [p.data.copy() for p in model.parameters()]
    optimizer = tg.optim.SGD(model.parameters(), lr=0.1)
    model(Tensor(np.ones((4, 2)))).sum().backward()
    optimizer.step()
    assert all(not np.array_equal(old, p.data) for old, p in zip(before, model.parameters()))


@pytest.mark.parametrize("value, container", [
    ([nn.Linear(2, 2)], "nn.ModuleList"),
    ((nn.Linear(2, 2), nn.Linear(2, 2)), "nn.ModuleList"),
    ({"a": nn.Linear(2, 2)}, "nn.ModuleDict"),
    ([nn.Parameter(np.ones(2))], "nn.ParameterList"),
    ({"w": nn.Parameter(np.ones(2))}, "nn.ParameterDict"),
])
def test_a_plain_container_of_modules_or_parameters_warns(value, container):
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = value

    with pytest.warns(UserWarning, match=f"Model: attribute 'layers' is a .* not registered.*Use {container}"):
        model = Model()
    assert list(model.parameters()) == []  # which is why it warns


def test_plain_containers_of_other_things_do_not_warn():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.sizes = [1, 2]
            self.names = {"a": "b"}
            self.empty = []
            self.tensors = [Tensor(np.ones(2))]  # constants, not weights

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Model()


def test_containers_load_state_dicts_from_torch():
    torch = pytest.importorskip("torch")
    ours = Stack([2, 4, 3])
    theirs = torch.nn.Module()
    theirs.layers = torch.nn.ModuleList([torch.nn.Linear(2, 4), torch.nn.Linear(4, 3)]).double()
    assert list(theirs.state_dict()) == list(ours.state_dict())
    ours.load_state_dict({name: value.numpy() for name, value in theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((5, 2))
    expected = torch.tensor(x)
    for layer in theirs.layers:
        expected = torch.tanh(layer(expected))
    np.testing.assert_allclose(ours(Tensor(x)).data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
