"""Pretrain Prix-LM with the transformers Trainer (paper §3, "Training").

Defaults are the paper's: 5 epochs, Adam β=(0.9, 0.98), learning rate 5e-5, 6% warm-up then
linear decay, dropout 0.1, facts of 30 tokens or more dropped, global batch 1024
(32 per device × 32 accumulation steps). "Prix-LM (All)" trains on every language's
triples plus the links between them (`--variant all`); "Prix-LM (Single)" on one
language's triples (`--variant single --languages de`).

Run commands::

    # the embedded default: CLDR KB folder, tokenizer + small model from scratch
    python train.py --dataset outputs/demo/dataset --languages en,de,ja \
        --output_dir outputs/demo/run_1500 --learning_rate 1e-3 --per_device_train_batch_size 64 \
        --gradient_accumulation_steps 1 --max_steps 1500 --save_steps 500
    # the paper: continue xlm-roberta-base on DBpedia (built with prixlm.data.dbpedia)
    python train.py --base_model xlm-roberta-base --dataset dbpedia-prixlm --languages all \
        --output_dir runs/prixlm-all --bf16
    # data parallel on 2 CPU processes (this machine) or N GPUs; on CPUs use torchrun:
    # `accelerate launch --cpu --num_processes 2` starts ONE process in accelerate 1.15
    # (its multi-CPU path needs mpirun and a hostfile)
    torchrun --nproc_per_node 2 train.py ... --use_cpu
    accelerate launch --multi_gpu --num_processes 8 train.py ... --bf16 \
        --per_device_train_batch_size 128 --gradient_accumulation_steps 1   # 8 × 128 = 1024
    # several nodes: `accelerate config` on each node (machine rank, main address), then
    accelerate launch --config_file multi_node.yaml train.py ...
    # resume after a crash (same seed, arguments and number of processes)
    python train.py ... --resume_from_checkpoint true

Continue training a release: its folder (or Hub id) as `--base_model`; its tokens keep their
ids and rows, the languages it lacks get new tokens, and it trains with its own
`object_attention` unless `--object_attention` is given; the new release records it
(`train_results.json`'s `continued_from`, the model card)::

    python train.py --base_model runs/prixlm-all/model --dataset my-kb/ --languages de,en,sw \
        --output_dir runs/prixlm-more

The release folder `<output_dir>/model` holds `model.safetensors`, the config with
`auto_map`, the custom code, the tokenizer with the added tokens, `generation_config.json`,
`training_args.json` and the metrics, and is self-contained (`prixlm.release.folder`): the
pipeline (`pipeline_prixlm.py`), `handler.py` and `candidates.json` (every entity label per
language of the dataset); `<output_dir>/lp_curve.png` is the paper's Fig. 2. The folder's
`README.md` is the model card rendered from its results (`prixlm.release.model_card`).
`--push_to_hub` (`--hub_model_id org/name`, `--hub_private_repo true`) uploads that folder, once
complete, with `prixlm.publish`; the Trainer itself never pushes (it would send checkpoints,
optimizer state and pickles).
"""

from __future__ import annotations

import sys
from pathlib import Path

import prixlm.threads  # noqa: F401 - first: sets OpenMP's wait policy before torch loads

# isort: split
from prixlm.cli import user_errors


def main(argv: list[str] | None = None) -> Path:
    """Parse the command line, train, and write the release folder; returns its path."""
    with user_errors():  # a Ctrl-C while torch and transformers load: `interrupted`, 130
        from modeling_prixlm.beam_search import NonFiniteScoresError
        from modeling_prixlm.decoding_steps import PositionBudgetError
        from prixlm.training.arguments import parse_training_arguments
        from prixlm.training.pretrain import pretrain

        run = parse_training_arguments(argv)
    # a checkpoint evaluation of a diverged run; one whose query and candidate the model's
    # positions cannot hold together
    with user_errors(NonFiniteScoresError, PositionBudgetError):
        # a signal says where it stopped and the command that goes on (`--resume_from_checkpoint`)
        return pretrain(run, command=sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main(sys.argv[1:])
