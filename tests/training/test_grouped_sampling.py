"""`--train_sampling_strategy group_by_length` with several processes: one order per epoch on
every process (dropout moved the processes' own random states apart, and an epoch trained
facts twice and others not at all), grouped by the global batch, and resumed exactly."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from accelerate.data_loader import BatchSamplerShard
from test_train_runs import _args, _run, _weights
from torch.utils.data import BatchSampler

from prixlm.data.dbpedia.build import build_dataset
from prixlm.training.sampling import GroupedByLength

TORCHRUN = Path(sys.executable).parent / "torchrun"
needs_torchrun = pytest.mark.skipif(not TORCHRUN.is_file(), reason="no torchrun")

#: train.py with two probes: each process logs the dataset indices of every batch it is
#: given (one line per batch, with the epoch: the count of the batch sampler's passes), and
#: the run kills itself after step KILL_AT_STEP (if set). Several runs one after the other
#: (their arguments separated by `--then`, their logs by commas in PROBE_LOG): each logs
#: to its own file from epoch 0; KILL_AT_STEP is the last one's.
PROBE = """
import json, os, signal, sys
from accelerate.data_loader import BatchSamplerShard
from transformers import TrainerCallback
from prixlm.training.arguments import parse_training_arguments
from prixlm.training.pretrain import pretrain

log, passes = [None], [0]
shard_iter = BatchSamplerShard.__iter__

def logged_iter(self):
    for batch in shard_iter(self):
        print(json.dumps({"epoch": passes[0], "batch": list(batch)}), file=log[0], flush=True)
        yield batch
    passes[0] += 1

BatchSamplerShard.__iter__ = logged_iter

class KillAt(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == int(os.environ.get("KILL_AT_STEP", "0")):
            os.kill(os.getpid(), signal.SIGKILL)

runs = [[]]
for arg in sys.argv[1:]:
    runs.append([]) if arg == "--then" else runs[-1].append(arg)
logs = os.environ["PROBE_LOG"].split(",")
for index, (argv, name) in enumerate(zip(runs, logs, strict=True)):
    log[0], passes[0] = open(f"{name}.{os.environ.get('RANK', '0')}", "w"), 0
    last = index == len(runs) - 1
    pretrain(parse_training_arguments(argv), [KillAt()] if last else [])
    log[0].close()
"""
GROUPED = ["--train_sampling_strategy", "group_by_length", "--use_cpu", "true"]


def _write_dumps(folder: Path, countries: int = 60) -> Path:
    """DBpedia dumps of `countries` countries (labels of several lengths), each with one of
    6 currencies and one of 4 languages: 354 training facts with the links."""
    labels = {f"C{i}": (f"country {'ab ' * (i % 5)}{i}", f"Land {'cd ' * (i % 3)}{i}")
              for i in range(countries)}  # fmt: skip
    labels.update({f"M{i}": (f"money {i}", f"Geld {i}") for i in range(6)})
    labels.update({f"L{i}": (f"tongue {i}", f"Sprache {i}") for i in range(4)})
    facts = [(f"C{i}", "currency", f"M{i % 6}") for i in range(countries)]
    facts += [(f"C{i}", "officialLanguage", f"L{i % 4}") for i in range(countries)]
    folder.mkdir(parents=True)
    for index, language in enumerate(("en", "de")):
        host = "dbpedia.org" if language == "en" else f"{language}.dbpedia.org"
        other = "http://de.dbpedia.org" if language == "en" else "http://dbpedia.org"

        def iri(key: str, host: str = f"http://{host}", index: int = index) -> str:
            return f"<{host}/resource/{labels[key][index].replace(' ', '_')}>"

        lines = {
            "labels": [
                f'{iri(k)} <{RDFS_LABEL}> "{v[index]}"@{language} .' for k, v in labels.items()
            ],
            "mappingbased_objects": [
                f"{iri(s)} <http://dbpedia.org/ontology/{p}> {iri(o)} ." for s, p, o in facts
            ],
            "interlanguage_links": [
                f"{iri(k)} <{SAME_AS}> {iri(k, other, 1 - index)} ." for k in labels
            ],
        }
        for name, content in lines.items():
            (folder / f"{name}_{language}.ttl").write_text("\n".join(content) + "\n", "utf-8")
    return folder


RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"


@pytest.fixture(scope="module")
def many_facts_dir(tmp_path_factory) -> Path:
    """A KB of 354 training facts: enough that the Trainer's sampler grouped 1 x 2 and
    2 x 1 facts differently (mega-batches of 88 and 50 facts)."""
    root = tmp_path_factory.mktemp("many_facts")
    build_dataset(_write_dumps(root / "dumps"), root / "dataset", ["en", "de"])
    return root / "dataset"


def _torchrun(script: Path, args: list[str], port: int, **env: str):
    command = [str(TORCHRUN), "--nproc_per_node", "2", "--master_port", str(port), str(script)]
    return _run([*command, *args], PYTHONPATH=str(Path(__file__).resolve().parents[2]), **env)


def _epochs(log: Path) -> dict[int, Counter]:
    """Per epoch: how often the processes of a run were given each dataset index."""
    presented: dict[int, Counter] = {}
    for rank in (0, 1):
        for line in Path(f"{log}.{rank}").read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            presented.setdefault(entry["epoch"], Counter()).update(entry["batch"])
    return presented


def test_every_process_cuts_its_share_from_one_order_whatever_its_random_state():
    """Unit level: two processes whose torch random states differ (as dropout makes them)
    are given every index once per epoch, and their shares make the batches of one process
    with twice the batch; the order does not depend on the global random state."""
    lengths = torch.randint(5, 40, (512,), generator=torch.Generator().manual_seed(0)).tolist()
    for epoch in range(3):
        one = GroupedByLength(lengths, 16, seed=7)
        one.set_epoch(epoch)
        whole = [sorted(batch) for batch in BatchSampler(one, 16, False)]
        shares = []
        for rank in (0, 1):
            torch.manual_seed(100 * rank + epoch)  # each process's own state
            sampler = GroupedByLength(lengths, 16, seed=7)
            sampler.set_epoch(epoch)
            shares.append(list(BatchSamplerShard(BatchSampler(sampler, 8, False), 2, rank)))
        updates = [sorted(first + second) for first, second in zip(*shares, strict=True)]
        assert updates == whole
        assert sorted(i for batch in updates for i in batch) == list(range(512))
    other = GroupedByLength(lengths, 16, seed=8)
    assert list(other) != list(GroupedByLength(lengths, 16, seed=7))


@needs_torchrun
def test_two_processes_with_dropout_train_every_fact_once_per_epoch_and_resume_exactly(
    tiny_dataset_dir, tmp_path
):
    """2 processes x 4 facts, dropout 0.1, 3 epochs of the 32 facts: every epoch gives each
    fact once (the Trainer's sampler trained 2-3 facts twice and skipped as many from the
    second epoch on); killed in the second epoch and resumed, the weights are the
    uninterrupted run's. (One launch trains the uninterrupted run, then the run it kills:
    each starts from the seed, and the resume is a launch of its own.)"""
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    common = [*GROUPED, "--dropout", "0.1", "--num_train_epochs", "3", "--save_steps", "6"]
    args = _args(tiny_dataset_dir, tmp_path / "a", *common, per_device_train_batch_size="4")
    args_b = _args(tiny_dataset_dir, tmp_path / "b", *common, per_device_train_batch_size="4")
    logs = f"{tmp_path / 'a.log'},{tmp_path / 'b.log'}"
    killed = _torchrun(script, [*args, "--then", *args_b], 29531, PROBE_LOG=logs,
                       KILL_AT_STEP="7")  # fmt: skip
    assert killed.returncode != 0
    assert (tmp_path / "a" / "model" / "model.safetensors").is_file(), killed.stderr[-3000:]
    results = json.loads((tmp_path / "a" / "model" / "train_results.json").read_text())
    assert results["train_facts"] == 32 and results["train_facts_repeated_per_epoch"] == 0
    presented = _epochs(tmp_path / "a.log")
    assert sorted(presented) == [0, 1, 2]
    for epoch, counts in presented.items():
        assert counts == Counter(range(32)), (epoch, counts)

    assert sorted(p.name for p in (tmp_path / "b").glob("checkpoint-*")) == ["checkpoint-6"]
    assert not (tmp_path / "b" / "model").exists()
    assert sorted(_epochs(tmp_path / "b.log")) == [0, 1]  # killed in the second epoch
    resumed = _torchrun(
        script,
        [*args_b, "--resume_from_checkpoint", "true"],
        29533,
        PROBE_LOG=str(tmp_path / "c.log"),
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    expected, got = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    differences = {name: float((expected[name] - got[name]).abs().max()) for name in expected}
    assert max(differences.values()) < 1e-6, differences


@needs_torchrun
def test_two_processes_group_like_one_process_with_the_same_global_batch(many_facts_dir, tmp_path):
    """2 processes x 1 fact train what 1 process x 2 facts trains, step by step (the
    Trainer's sampler grouped by one process's batch: 354 facts in mega-batches of 50, against
    88 in one process)."""
    import train

    common = [*GROUPED, "--dropout", "0", "--max_steps", "24", "--save_steps", "100"]
    common += ["--max_fact_length", "0"]  # every fact, however many tokens
    one_args = _args(many_facts_dir, tmp_path / "one", *common, per_device_train_batch_size="2")
    train.main(one_args)  # the 1-process reference, in this process
    two_args = _args(many_facts_dir, tmp_path / "two", *common, per_device_train_batch_size="1")
    two = _torchrun(Path("train.py"), two_args, 29534)
    assert two.returncode == 0, two.stderr[-3000:]
    results = json.loads((tmp_path / "two" / "model" / "train_results.json").read_text())
    assert results["train_facts"] == 354
    expected, got = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    differences = {name: float((expected[name] - got[name]).abs().max()) for name in expected}
    assert max(differences.values()) < 1e-5, differences
