"""Options that a run's other options make pointless or harmful: a tokenizer size with a
tokenizer of its own (warned of), an `--output_dir` inside the `--dataset` build and
`--autocast_residual` without mixed precision (refused before any work)."""

from __future__ import annotations

import pytest
from parsed_options import BASE, refused

from prixlm.training.arguments import parse_training_arguments


def test_a_tokenizer_size_with_a_tokenizer_of_its_own_is_warned_of(capsys):
    """`--tokenizer_vocab_size` with `--tokenizer_dir` (the demo's recipe with a tokenizer
    trained before): no tokenizer is trained, and the size was ignored without a word."""
    capsys.readouterr()
    run = parse_training_arguments([*BASE, "--tokenizer_dir", "t", "--tokenizer-vocab-size", "4000"])  # fmt: skip
    assert run.model.tokenizer_dir == "t"
    assert capsys.readouterr().err.strip().splitlines() == [
        "warning: --tokenizer_vocab_size: no effect with --tokenizer_dir t (its tokenizer "
        "keeps its own vocabulary; no tokenizer is trained)"
    ]
    parse_training_arguments([*BASE, "--tokenizer_dir", "t"])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("inside", ["", "run"])
def test_an_output_dir_in_the_dataset_folder_is_refused(tiny_dataset_dir, capsys, inside):
    """`--output_dir` the dataset build (or a folder in it): the run's checkpoints and
    release went into the build, which a rebuild kept and `prixlm.publish` then refused as
    "a training run's output_dir"."""
    import train

    before = sorted(path.name for path in tiny_dataset_dir.iterdir())
    output = tiny_dataset_dir / inside if inside else tiny_dataset_dir
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--dataset", str(tiny_dataset_dir), "--output_dir", str(output),
                    "--max_steps", "2"])  # fmt: skip
    assert exit_info.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.endswith(
        f"error: --output_dir {output}: inside --dataset {tiny_dataset_dir} (the run's "
        "checkpoints and release would be written into the dataset build); choose a folder "
        "outside it"
    )
    assert sorted(path.name for path in tiny_dataset_dir.iterdir()) == before
    sibling = tiny_dataset_dir.parent / "run"  # beside it: accepted
    args = parse_training_arguments(["--dataset", str(tiny_dataset_dir), "--output_dir",
                                     str(sibling), "--max_steps", "2"])  # fmt: skip
    assert args.training.output_dir == str(sibling)


def test_autocast_residual_without_mixed_precision_is_refused(capsys):
    """`--autocast_residual` keeps the hidden states in the autocast dtype; without `--bf16`
    there is no autocast: it ran, changed nothing, and the run's records said it was on."""
    assert refused(capsys, "--autocast_residual").endswith(
        "error: --autocast_residual: only with --bf16 (it keeps the hidden states between "
        "layers in the autocast dtype; without mixed precision it changes nothing)"
    )
    run = parse_training_arguments([*BASE, "--autocast_residual", "--bf16", "--use_cpu"])
    assert run.model.autocast_residual is True and run.training.bf16 is True
