"""nn.Module and nn.Parameter: registration, tree walks, modes, dtype, state dicts, repr."""

import copy
from collections import OrderedDict

import numpy as np
import pytest

from tinygrad_rnn import Tensor, nn


class Affine(nn.Module):
    """A scale and a shift, enough to exercise registration without the real layers."""

    def __init__(self, n):
        super().__init__()
        self.scale = nn.Parameter(np.ones(n))
        self.shift = nn.Parameter(np.zeros(n))

    def forward(self, x):
        return x * self.scale + self.shift


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Affine(3)
        self.register_buffer("count", Tensor(np.zeros(2, np.int64)))
        self.layers = nn.Sequential(Affine(3), Affine(3))
        self.head = nn.Parameter(np.full(3, 2.0))

    def forward(self, x):
        return (self.layers(self.encoder(x)) * self.head).sum()


# -- Parameter -------------------------------------------------------------------------


def test_parameter_requires_grad_and_keeps_dtype():
    p = nn.Parameter(np.ones((2, 3)))
    assert isinstance(p, Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float64 and p.shape == (2, 3)
    assert nn.Parameter([1.0, 2.0]).dtype == np.float32
    assert not nn.Parameter(np.ones(2), requires_grad=False).requires_grad


def test_parameter_from_tensor_takes_its_data():
    t = Tensor(np.arange(4.0))
    p = nn.Parameter(t)
    assert p.data is t.data and p.requires_grad and not t.requires_grad


def test_parameter_rejects_integer_data():
    with pytest.raises(TypeError, match=r"Parameter.*int64.*\(3,\)"):
        nn.Parameter(np.arange(3))


# -- registration ------------------------------------------------------------------------


def test_parameters_register_in_assignment_order_and_plain_tensors_do_not():
    m = nn.Module()
    m.b = nn.Parameter(np.zeros(1))
    m.plain = Tensor(np.zeros(2), requires_grad=True)
    m.a = nn.Parameter(np.zeros(3))
    assert [name for name, _ in m.named_parameters()] == ["b", "a"]
    assert m.a.shape == (3,) and m.plain.shape == (2,)


def test_reassigning_a_parameter_name():
    m = Affine(2)
    new = nn.Parameter(np.full(2, 5.0))
    m.scale = new
    assert m.scale is new and [n for n, _ in m.named_parameters()] == ["scale", "shift"]
    with pytest.raises(TypeError, match="scale"):
        m.scale = Tensor(np.ones(2))
    m.scale = None
    assert [n for n, _ in m.named_parameters()] == ["shift"] and m.scale is None


def test_delattr_unregisters():
    m = Affine(2)
    del m.shift
    assert [n for n, _ in m.named_parameters()] == ["scale"]
    with pytest.raises(AttributeError):
        m.shift
    m.note = "plain"
    del m.note
    assert not hasattr(m, "note")


def test_a_plain_value_replaces_a_submodule_only_as_none():
    m = Net()
    with pytest.raises(TypeError, match="encoder"):
        m.encoder = 3
    m.encoder = None
    assert "encoder" not in dict(m.named_children())


def test_register_parameter_none_and_buffer():
    m = nn.Module()
    m.register_parameter("bias", None)
    assert m.bias is None and list(m.parameters()) == []
    m.register_buffer("running", Tensor(np.ones(2)))
    assert list(m.parameters()) == [] and list(m.state_dict()) == ["running"]
    with pytest.raises(TypeError, match="bias"):
        m.register_parameter("bias", Tensor(np.ones(2)))
    with pytest.raises(KeyError, match="a.b"):
        m.register_parameter("a.b", nn.Parameter(np.ones(1)))
    with pytest.raises(TypeError, match="buffer"):
        m.register_buffer("x", np.ones(2))


def test_register_refuses_a_name_already_taken():
    m = Affine(2)
    m.note = "plain"
    for taken in ("scale", "note", "forward"):
        with pytest.raises(KeyError, match=taken):
            m.register_buffer(taken, Tensor(np.zeros(1)))
    m.register_parameter("scale", nn.Parameter(np.zeros(2)))  # re-registering its own kind is fine
    assert [n for n, _ in m.named_parameters()] == ["scale", "shift"]


def test_assigning_before_super_init_raises():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(1))

    with pytest.raises(AttributeError, match="super"):
        Broken()


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="Affine.*nope"):
        Affine(1).nope


# -- walking the tree -----------------------------------------------------------------------


def test_dotted_names_follow_pytorch():
    m = Net()
    assert [n for n, _ in m.named_parameters()] == [
        "head", "encoder.scale", "encoder.shift",
        "layers.0.scale", "layers.0.shift", "layers.1.scale", "layers.1.shift",
    ]
    assert [n for n, _ in m.named_modules()] == ["", "encoder", "layers", "layers.0", "layers.1"]
    assert [n for n, _ in m.named_children()] == ["encoder", "layers"]
    assert list(m.children()) == [m.encoder, m.layers]
    assert list(m.modules())[0] is m
    assert [n for n, _ in m.named_parameters(prefix="model")][0] == "model.head"
    assert [n for n, _ in m.named_parameters(recurse=False)] == ["head"]


def test_shared_parameters_and_modules_come_once():
    shared = Affine(2)
    m = nn.Sequential(shared, Affine(2), shared)
    m[1].scale = shared.scale
    params = list(m.parameters())
    assert len(params) == 3 and len({id(p) for p in params}) == 3
    assert [n for n, _ in m.named_modules()] == ["", "0", "1"]
    # a state dict lists every name, as PyTorch's does, so tied weights load by either name
    assert list(m.state_dict()) == ["0.scale", "0.shift", "1.scale", "1.shift", "2.scale", "2.shift"]


def test_deep_nesting_needs_no_recursion():
    depth = 5000  # far past Python's recursion limit
    model = Affine(1)
    for _ in range(depth):
        model = nn.Sequential(model)
    assert len(list(model.parameters())) == 2
    assert len(list(model.named_modules())) == depth + 1
    assert next(iter(model.state_dict())) == "0." * depth + "scale"
    model.eval()
    model.apply(lambda m: None)


def test_a_module_cannot_contain_itself():
    m = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="Sequential: cannot register module 'me': it is this module itself"):
        m.me = m
    with pytest.raises(ValueError, match="Sequential: cannot register module '1': it is this module itself"):
        m.append(m)
    assert list(m.state_dict()) == ["0.weight", "0.bias"]


@pytest.mark.parametrize("walk", [
    lambda m: m.state_dict(), lambda m: list(m.parameters()), lambda m: list(m.named_modules(remove_duplicate=False)),
    lambda m: m.to(np.float64), lambda m: m.train(), lambda m: m.load_state_dict({}, strict=False), repr,
], ids=["state_dict", "parameters", "named_modules", "to", "train", "load_state_dict", "repr"])
def test_a_longer_cycle_raises_in_every_walk_instead_of_looping(walk):
    outer, inner = nn.Sequential(nn.Linear(2, 2)), nn.Sequential()
    outer.add_module("inner", inner)
    inner.add_module("outer", outer)  # found by the walks: checking here would cost a walk per registration
    with pytest.raises(ValueError, match=r"the module tree has a cycle: the module at '(inner\.outer|outer)' "
                                         r"is one of its own ancestors"):
        walk(outer)


def test_apply_visits_children_before_parents():
    m = Net()
    order = []
    m.apply(lambda module: order.append(module))
    assert order == [m.encoder, m.layers[0], m.layers[1], m.layers, m]


def test_call_runs_forward():
    m = Affine(2)
    out = m(Tensor(np.array([1.0, 2.0])))
    assert np.array_equal(out.data, [1.0, 2.0])
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


# -- modes and gradients --------------------------------------------------------------------------


def test_train_and_eval_reach_every_module():
    m = Net()
    assert all(module.training for module in m.modules())
    assert m.eval() is m
    assert not any(module.training for module in m.modules())
    m.train()
    assert all(module.training for module in m.modules())
    with pytest.raises(ValueError, match="bool"):
        m.train("no")


def test_zero_grad():
    m = Net()
    m(Tensor(np.ones(3))).backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(np.all(p.grad == 0) for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


# -- dtype ------------------------------------------------------------------------------------


def test_to_converts_in_place_and_keeps_identity():
    m = Net().float()
    m(Tensor(np.ones(3, np.float32))).backward()
    before = list(m.parameters())
    assert all(p.dtype == np.float32 for p in before)
    m.double()
    after = list(m.parameters())
    assert all(a is b for a, b in zip(before, after))
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in after)
    assert m.count.dtype == np.int64  # integer buffers are left alone
    with pytest.raises(TypeError, match="int32"):
        m.to(np.int32)


# -- state dicts -----------------------------------------------------------------------------


def _randomize(module, seed):
    random = np.random.default_rng(seed)
    for p in module.parameters():
        p.data[...] = random.standard_normal(p.shape)


def test_state_dict_is_an_ordered_copy():
    m = Net()
    state = m.state_dict()
    assert isinstance(state, OrderedDict)
    assert list(state)[:2] == ["head", "count"]  # own parameters, own buffers, then children
    state["head"][...] = 99
    assert np.all(m.head.data == 2.0)


def test_load_state_dict_round_trip_into_the_same_arrays():
    source, target = Net(), Net()
    _randomize(source, 0)
    arrays = [p.data for p in target.parameters()]
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, a), b in zip(source.state_dict().items(), target.state_dict().values()):
        assert np.array_equal(a, b), name
    assert all(p.data is a for p, a in zip(target.parameters(), arrays))
    x = Tensor(np.arange(3.0))
    assert source(x).item() == target(x).item()


def test_load_state_dict_accepts_tensors_and_safe_casts():
    m = Affine(2)
    m.load_state_dict({"scale": Tensor(np.array([1.5, 2.5], np.float32)), "shift": np.array([1, 2])})
    assert m.scale.dtype == np.float64 and np.array_equal(m.scale.data, [1.5, 2.5])
    assert np.array_equal(m.shift.data, [1.0, 2.0])
    m.float()
    m.load_state_dict({"scale": np.array([0.1, 0.2]), "shift": np.zeros(2)})
    assert m.scale.dtype == np.float32 and np.array_equal(m.scale.data, np.float32([0.1, 0.2]))


def test_load_state_dict_refuses_float_into_int():
    m = Net()
    state = m.state_dict()
    state["count"] = np.array([0.5, 1.5])
    with pytest.raises(ValueError, match=r"'count'.*float64.*int64"):
        m.load_state_dict(state)


def test_load_state_dict_shape_error_names_key_and_both_shapes():
    m = Net()
    state = m.state_dict()
    state["layers.1.shift"] = np.zeros(4)
    with pytest.raises(ValueError, match=r"'layers\.1\.shift'.*\(4,\).*\(3,\)"):
        m.load_state_dict(state)


def test_failed_load_changes_nothing():
    m = Net()
    before = m.state_dict()
    state = {name: value + 1 for name, value in before.items()}
    state["layers.1.shift"] = np.zeros((3, 1))
    with pytest.raises(ValueError):
        m.load_state_dict(state)
    for name, value in m.state_dict().items():
        assert np.array_equal(value, before[name]), name


def test_load_state_dict_missing_and_unexpected_keys():
    m = Net()
    state = m.state_dict()
    del state["encoder.shift"]
    state["extra"] = np.zeros(1)
    with pytest.raises(ValueError, match=r"missing keys \['encoder\.shift'\].*unexpected keys \['extra'\]"):
        m.load_state_dict(state)
    state["head"] = np.full(3, 7.0)
    result = m.load_state_dict(state, strict=False)
    assert result.missing_keys == ["encoder.shift"] and result.unexpected_keys == ["extra"]
    assert np.all(m.head.data == 7.0)


def test_optimizer_style_references_survive_a_load():
    m = Affine(2)
    held = m.scale  # what an optimizer keeps
    m.load_state_dict({"scale": np.array([3.0, 4.0]), "shift": np.zeros(2)})
    assert m.scale is held and np.array_equal(held.data, [3.0, 4.0])


def test_deepcopy_gives_an_independent_equal_module():
    m = Net()
    _randomize(m, 1)
    clone = copy.deepcopy(m)
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in clone.parameters())
    for (name, a), b in zip(m.state_dict().items(), clone.state_dict().values()):
        assert np.array_equal(a, b), name
    clone.head.data[...] = 0
    assert np.all(m.head.data != 0)


# -- repr ------------------------------------------------------------------------------------


def test_repr_nests_like_pytorch():
    model = nn.Sequential(nn.Linear(4, 3), nn.Sequential(nn.Embedding(5, 2, padding_idx=1)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=3, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): Embedding(5, 2, padding_idx=1)\n"
        "  )\n"
        ")"
    )
    assert repr(nn.Module()) == "Module()"
    assert repr(nn.Parameter(np.zeros(1, np.float32))).startswith("Parameter containing:\n")


# -- PyTorch parity ----------------------------------------------------------------------------


def test_state_dict_keys_and_repr_match_pytorch():
    torch = pytest.importorskip("torch")

    class Ours(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(7, 4, padding_idx=0)
            self.mlp = nn.Sequential(nn.Linear(4, 5), nn.Linear(5, 2, bias=False))

        def forward(self, idx):
            return self.mlp(self.embed(idx))

    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(7, 4, padding_idx=0)
            self.mlp = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Linear(5, 2, bias=False))

        def forward(self, idx):
            return self.mlp(self.embed(idx))

    ours, theirs = Ours(), Theirs().double()
    torch_state = theirs.state_dict()
    assert list(ours.state_dict()) == list(torch_state)
    assert [v.shape for v in ours.state_dict().values()] == [tuple(v.shape) for v in torch_state.values()]
    assert repr(ours).replace("Ours", "M") == repr(theirs).replace("Theirs", "M")
    # weights move by name, and the two models then compute the same thing
    ours.load_state_dict({k: v.numpy() for k, v in torch_state.items()})
    idx = np.array([[0, 3, 6], [2, 2, 1]])
    expected = theirs(torch.from_numpy(idx)).detach().numpy()
    np.testing.assert_allclose(ours.double()(idx).data, expected, rtol=1e-12, atol=1e-12)

