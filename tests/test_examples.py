"""The examples run, and show what they claim (short runs); every one takes --help and --quick."""


import pytest

from example_loader import EXAMPLES, load_example

SMOKE = "--quick: a smoke test on a tiny run; its numbers are not the example's results"


@pytest.mark.parametrize("name", sorted(path.stem for path in EXAMPLES.glob("*.py")))
def test_every_example_takes_help_and_quick_without_running(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # anything written to the default out/ would land here
    try:
        example = load_example(name)
    except ModuleNotFoundError as missing:
        pytest.skip(f"the examples extra is not installed ({missing.name})")
    with pytest.raises(SystemExit) as exited:
        example.main(["--help"])
    assert exited.value.code == 0
    usage = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "--quick" in usage and "smoke test" in usage
    assert list(tmp_path.iterdir()) == []  # --help trained nothing and wrote nothing


def test_train_demo_loss_falls(capsys):
    losses = load_example("train_demo").main(["--quick"])
    assert len(losses) == 60 and losses[-1] < 0.2 * losses[0]
    assert SMOKE in capsys.readouterr().out


def test_checkpoint_resume_reproduces_the_uninterrupted_run(tmp_path, capsys):
    assert load_example("checkpoint_resume").main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert SMOKE in out and "identical to the uninterrupted one: True" in out
