"""A model folder's own code runs only for a Prix-LM (`prixlm.model_loading.is_prixlm`).

A masked-LM baseline folder (or a tokenizer folder) whose `config.json` says `xlm-roberta`
but whose `auto_map` names a module of the folder is loaded with transformers' classes by
every command that reads a model or tokenizer: the module is never imported.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from tiny_models import plain_xlmr_tokenizer

from prixlm.model_loading import load_model

#: The folder's own module: it leaves `marker` behind when imported or used.
FOLDER_CODE = """
from pathlib import Path

from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaTokenizer

MARKER = Path({marker!r})
MARKER.write_text("imported")


class FolderConfig(XLMRobertaConfig):
    def __init__(self, **kwargs):
        MARKER.write_text("config built")
        super().__init__(**kwargs)


class FolderModel(XLMRobertaForMaskedLM):
    config_class = FolderConfig


class FolderTokenizer(XLMRobertaTokenizer):
    pass
"""


def folder_with_own_code(folder: Path, marker: Path) -> Path:
    """A tiny XLM-R masked LM whose config and tokenizer config name `folder_code.py`."""
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    from modeling_prixlm.formatting import add_prixlm_tokens

    tokenizer = plain_xlmr_tokenizer()
    add_prixlm_tokens(tokenizer, ["de", "en"])  # a fact tokenizer (xel reads facts with it)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=16, max_position_embeddings=20, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    XLMRobertaForMaskedLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    own = {name: "folder_code.FolderModel" for name in ("AutoModel", "AutoModelForMaskedLM")}
    for name, auto_map in (
        ("config.json", {"AutoConfig": "folder_code.FolderConfig", **own}),
        ("tokenizer_config.json", {"AutoTokenizer": ["folder_code.FolderTokenizer", None]}),
    ):
        content = json.loads((folder / name).read_text())
        (folder / name).write_text(json.dumps({**content, "auto_map": auto_map}))
    (folder / "folder_code.py").write_text(FOLDER_CODE.format(marker=str(marker)))
    return folder


def _links_of(folder: Path, tmp_path: Path) -> object:
    """`xel_cldr.training_links` reading `folder`'s tokenizer (a run record makes it)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "completion"))
    from completion_kb import dataset_rows, write_dataset

    from prixlm.similarity.xel_cldr import training_links

    run = {"languages": ["de", "en"], "links": True, "variant": "all", "max_fact_length": 64}
    (folder / "train_results.json").write_text(json.dumps(run))
    return training_links(write_dataset(tmp_path / "data", dataset_rows()), folder)


def _load_model(folder: Path, tmp_path: Path) -> object:
    model, tokenizer, kind = load_model(folder, "cpu")
    assert kind == "masked_lm" and type(model).__name__ == "XLMRobertaForMaskedLM"
    return model


def _load_embedder(folder: Path, tmp_path: Path) -> object:
    from prixlm.similarity.embedder import EncoderEmbedder, load_embedder

    embedder = load_embedder(str(folder))
    assert isinstance(embedder, EncoderEmbedder)
    return embedder


def _plain_masked_lm(folder: Path, tmp_path: Path) -> object:
    from prixlm.similarity.plain_mlm import plain_masked_lm

    return plain_masked_lm(folder)


def _model_languages(folder: Path, tmp_path: Path) -> object:
    from prixlm.link_prediction.evaluate_lp import check_model_languages

    return check_model_languages(str(folder), {"en"}, "--languages en")


def _build_tokenizer(folder: Path, tmp_path: Path) -> object:
    from prixlm.data.dbpedia.build_arguments import load_tokenizer

    return load_tokenizer(str(folder))


def _train_tokenizer_dir(folder: Path, tmp_path: Path) -> object:
    from prixlm.training.arguments import DataArguments, ModelArguments
    from prixlm.training.pretrain import build_model_and_tokenizer

    sizes = {"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
             "intermediate_size": 16}  # fmt: skip
    arguments = ModelArguments(tokenizer_dir=str(folder), **sizes)
    return build_model_and_tokenizer(
        arguments, DataArguments(dataset=str(tmp_path)), ["en"], seed=0
    )


LOADERS = {
    "load_model": _load_model,  # probing, mirror (and load_prixlm: complete, evaluate_lp)
    "load_embedder": _load_embedder,  # xel, the similarity study
    "plain_masked_lm": _plain_masked_lm,  # plain_mlm --reference
    "check_model_languages": _model_languages,  # evaluate_lp --model
    "build_load_tokenizer": _build_tokenizer,  # the dataset build's --tokenizer
    "xel_training_links": _links_of,  # xel --model (seen links)
    "train_tokenizer_dir": _train_tokenizer_dir,  # train.py --tokenizer_dir
}


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_a_folder_not_prixlm_loads_without_running_its_own_code(loader, tmp_path):
    marker = tmp_path / "folder_code_ran"
    folder = folder_with_own_code(tmp_path / f"baseline_{loader}", marker)
    LOADERS[loader](folder, tmp_path)
    assert not marker.exists(), f"{loader} ran the folder's own code ({marker.read_text()})"


def test_only_a_prixlm_config_is_trusted(tmp_path):
    from prixlm.model_loading import is_prixlm

    prixlm, other, empty = (tmp_path / name for name in ("prixlm", "other", "empty"))
    for folder in (prixlm, other, empty):
        folder.mkdir()
    (prixlm / "config.json").write_text(json.dumps({"model_type": "prixlm"}))
    (other / "config.json").write_text(json.dumps({"model_type": "xlm-roberta"}))
    assert is_prixlm(prixlm) and is_prixlm(str(prixlm))
    assert not is_prixlm(other) and not is_prixlm(empty)  # no config.json: a tokenizer folder
    (other / "config.json").write_text("{not json")
    assert not is_prixlm(other)
    assert not is_prixlm("nobody-here/not-cached", local_files_only=True)


def test_a_prixlm_folder_still_runs_its_model_code(tiny_prixlm, tmp_path):
    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path / "release")
    tokenizer.save_pretrained(tmp_path / "release")
    loaded, _, kind = load_model(tmp_path / "release", "cpu")
    assert kind == "prixlm" and type(loaded).__name__ == "PrixLMForCausalKB"
    assert type(loaded).__module__.startswith("transformers_modules.")  # the folder's code


#: In one fresh offline process (its Hub cache built by `fresh_process_answers`): `is_prixlm`
#: of Hub ids, their config read from the Hub cache; then, for each Prix-LM folder named in
#: argv[2] whose config names code of the Hub repo `attacker/code`, what each loader raised.
FRESH_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from prixlm.model_loading import is_prixlm
from prixlm.model_loading import load_model
from prixlm.similarity.embedder import load_embedder
from prixlm.data.dbpedia.build_arguments import load_tokenizer
out = {"cached_ids": [is_prixlm(name) for name in ("me/prixlm-tiny", "me/baseline", "me/absent")]}
for case, folder in json.loads(sys.argv[2]).items():
    raised = []
    for load in (lambda: load_model(folder, "cpu"), lambda: load_embedder(folder),
                 lambda: load_tokenizer(folder)):
        try:
            load()
            raised.append(None)
        except Exception as error:
            raised.append(f"{type(error).__name__}: {error}")
    out[case] = raised
print(json.dumps(out))
"""
#: (config_file, shape) of each Prix-LM folder naming code of another repo.
ELSEWHERE_CASES = [
    ("config.json", "dict"), ("tokenizer_config.json", "dict"), ("tokenizer_config.json", "list")
]  # fmt: skip
REVISION = "0" * 40


def _hub_repo(hf_home: Path, repo_id: str) -> Path:
    """The snapshot folder of `repo_id` at `REVISION` (its `main`) in `hf_home`'s Hub cache."""
    repo = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(REVISION)
    (repo / "snapshots" / REVISION).mkdir(parents=True)
    return repo / "snapshots" / REVISION


@pytest.fixture(scope="module")
def fresh_process_answers(tiny_prixlm, tmp_path_factory) -> dict:
    """What one fresh offline process answered, with its Hub cache holding `me/prixlm-tiny`
    and `me/baseline` (a config each) and `attacker/code` (a module leaving `marker` behind
    when imported), and a Prix-LM folder per `ELSEWHERE_CASES` naming that module; `marker`
    and `folders` ({case: folder}) added."""
    from fresh_process import last_json_line, run_fresh

    tmp_path = tmp_path_factory.mktemp("model_code_trust")
    for name, model_type in (("prixlm-tiny", "prixlm"), ("baseline", "xlm-roberta")):
        snapshot = _hub_repo(tmp_path / "hf_home", f"me/{name}")
        config = {"model_type": model_type, "auto_map": {"AutoConfig": "own.Config"}}
        (snapshot / "config.json").write_text(json.dumps(config))
    marker = tmp_path / "other_repo_code_ran"
    (_hub_repo(tmp_path / "hf_home", "attacker/code") / "folder_code.py").write_text(
        FOLDER_CODE.format(marker=str(marker))
    )
    model, tokenizer = tiny_prixlm
    folders = {}
    for config_file, shape in ELSEWHERE_CASES:
        folder = tmp_path / f"release_{config_file}_{shape}"
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        content = json.loads((folder / config_file).read_text())
        if config_file == "config.json":
            content["auto_map"]["AutoModelForCausalLM"] = "attacker/code--folder_code.FolderModel"
        else:
            pair = ["attacker/code--folder_code.FolderTokenizer", None]
            content["auto_map"] = {"AutoTokenizer": pair} if shape == "dict" else pair
        (folder / config_file).write_text(json.dumps(content))
        folders[f"{config_file}/{shape}"] = str(folder)
    root = Path(__file__).resolve().parents[1]
    done = run_fresh(
        FRESH_CHILD, root, json.dumps(folders), cwd=tmp_path, hf_home=tmp_path / "hf_home"
    )
    return {**last_json_line(done), "marker": marker, "folders": folders}


def test_a_hub_id_is_judged_by_its_cached_config_offline(fresh_process_answers):
    assert fresh_process_answers["cached_ids"] == [True, False, False]


@pytest.mark.parametrize(("config_file", "shape"), ELSEWHERE_CASES)
def test_a_prixlm_naming_code_of_another_repo_is_refused(fresh_process_answers, config_file, shape):
    """transformers runs `org/name--module.Class` of an `auto_map` from that other repo: a
    Prix-LM folder (or Hub repo) naming one is refused before any of its code is run. A
    tokenizer's `auto_map` may also be the older list `[slow, fast]`, which transformers
    still follows."""
    marker = fresh_process_answers["marker"]
    assert not marker.exists(), f"the other repo's code ran ({marker.read_text()})"
    case = f"{config_file}/{shape}"
    folder = fresh_process_answers["folders"][case]
    expected = (
        f"UsageError: {folder}: its config names model code of another Hub repo "
        f"(attacker/code--folder_code.Folder{'Model' if config_file == 'config.json' else 'Tokenizer'}); "
        "only the code in a Prix-LM's own folder is run"
    )
    assert fresh_process_answers[case] == [expected] * 3


def test_code_elsewhere_reads_every_code_reference():
    from prixlm.model_loading import code_elsewhere

    config = {
        "auto_map": {"AutoConfig": "configuration_prixlm.PrixLMConfig",
                     "AutoModel": "a/b--m.Model",
                     "AutoTokenizer": ["c/d--t.Tokenizer", None]},
        "custom_pipelines": {"task": {"impl": "e/f--p.Pipe"}, "own": {"impl": "p.Pipe"}},
    }  # fmt: skip
    assert code_elsewhere(config) == ["a/b--m.Model", "c/d--t.Tokenizer", "e/f--p.Pipe"]
    assert code_elsewhere({"auto_map": "not a dict", "custom_pipelines": []}) == []
    # a tokenizer's older auto_map: the list [slow, fast] itself
    assert code_elsewhere({"auto_map": [None, "c/d--t.TokenizerFast"]}) == ["c/d--t.TokenizerFast"]
    assert code_elsewhere({"auto_map": ["t.Tokenizer", None]}) == []
