"""A training into an --output_dir that cannot be written (read-only, another user's, or
new in such a folder) is refused before the tokenizer, the encoding and the steps: it failed
at the first checkpoint (hours into a real run), naming a hidden staging file."""

from __future__ import annotations

import pytest
from full_disk import unwritable
from test_train_runs import _args


@pytest.mark.parametrize("made", [True, False], ids=["existing", "new"])
def test_an_output_dir_that_cannot_be_written_is_refused_before_training(
    made, tiny_dataset_dir, tmp_path, monkeypatch, capsys
) -> None:
    import train
    from prixlm.training import pretrain

    out = tmp_path / "runs" / "run"
    (out if made else out.parent).mkdir(parents=True)
    built = []
    real_build = pretrain.build_model_and_tokenizer

    def counted_build(*args, **kwargs):
        built.append(True)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(pretrain, "build_model_and_tokenizer", counted_build)
    unwritable(monkeypatch, out if made else out.parent)
    with pytest.raises(SystemExit) as exit_info:
        train.main(_args(tiny_dataset_dir, out, "--max_steps", "4", "--save_steps", "2"))
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    where = out if made else out.parent
    assert (
        error == f"error: --output_dir {out}: Permission denied (no file can be written in {where})"
    )
    assert built == []  # no tokenizer, model or step before the refusal
    assert [path.name for path in out.parent.iterdir()] == (["run"] if made else [])
    assert not made or list(out.iterdir()) == []
