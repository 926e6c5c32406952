"""The examples run, and show what they claim (short runs)."""

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_demo_loss_falls():
    losses = load_example("train_demo").main(steps=60)
    assert losses[-1] < 0.2 * losses[0]


def test_checkpoint_resume_reproduces_the_uninterrupted_run(tmp_path, capsys):
    assert load_example("checkpoint_resume").main(steps=12, out=str(tmp_path))
    assert "identical to the uninterrupted one: True" in capsys.readouterr().out
