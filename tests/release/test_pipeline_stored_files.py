"""Where the release's pipeline finds `candidates.json` and `relations.json`.

A folder loaded by a relative name keeps its files after a change of directory, even when
the Hub cache holds another repo with that name. A Hub repo's file that could be neither
fetched nor found in the Hub cache is an error that says so (offline, or with no network);
it is "no such file" only when the Hub said so or the cache records it.

The cases run in fresh processes, as a user would, with Hub caches built here: one process
offline (the relative folder, then the Hub repos), one with no network. The no-network case refuses every socket and answers the Hub's file requests with a
connection error (or a 404 for one file): nothing leaves the machine.
"""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest
from fresh_process import last_json_line, run_fresh
from hub_cache import COMMIT, hub_repo
from release_kb import CANDIDATES, RELATIONS

#: The commit of every repo in the test Hub caches.
PARAMS = {"top_k": 2, "num_beams": 3}


# ------------------------------------------------ a relative folder, chdir; a Hub repo, offline
#: A child's end: for each repo named from argv[first] on, what its pipeline reads and
#: answers (`params` set before), into `out`.
ASK_EACH_REPO = textwrap.dedent(
    """
    from transformers import pipeline
    out = {{}}
    for repo in sys.argv[{first}:]:
        pipe = pipeline(model=repo, trust_remote_code=True)
        out[repo] = {{}}
        for name, call in (
            ("candidates", lambda: pipe.candidate_labels),
            ("relations", lambda: pipe.relations),
            ("answer", lambda: [a["object"] for a in pipe("Germany | currency", **params)]),
        ):
            try:
                out[repo][name] = call()
            except Exception as error:
                out[repo][name] = f"{{type(error).__name__}}: {{error}}"
    """
)

#: argv: params, the relative folder's name, a folder to change to, then the Hub repos to ask.
OFFLINE_CHILD = (
    textwrap.dedent(
        """
        import importlib.util, json, os, sys
        from transformers import pipeline
        params, name, elsewhere = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
        query = "Germany | currency"

        def attempt(call):
            try:
                return call()
            except Exception as error:
                return f"{type(error).__name__}: {error}"

        before = pipeline(model=name, trust_remote_code=True)(query, **params)
        pipe = pipeline(model=name, trust_remote_code=True)  # the folder ./me/prixlm-tiny
        os.chdir(name)
        spec = importlib.util.spec_from_file_location("handler", "handler.py")
        handler_module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(handler_module)
        handler = handler_module.EndpointHandler()  # the folder ".", as Inference Endpoints do
        os.chdir(elsewhere)  # a notebook's %cd, a framework's chdir
        chdir = {
            "candidates": attempt(lambda: pipe.candidate_labels),
            "relations": attempt(lambda: pipe.relations),
            "handler_candidates": attempt(lambda: handler.pipeline.candidate_labels),
            "before": before,
            "after": attempt(lambda: pipe(query, **params)),
            "handler": attempt(lambda: handler({"inputs": query, "parameters": params})),
        }
        """
    )
    + ASK_EACH_REPO.format(first=4)
    + 'print(json.dumps({**out, "chdir": chdir}))\n'
)


@pytest.fixture(scope="module")
def offline(released, tmp_path_factory) -> dict:
    """What one fresh process (HF_HUB_OFFLINE=1) read and answered:

    - `chdir`: the pipeline of the folder `./me/prixlm-tiny` (a copy of the release), loaded
      by that relative name, after a chdir; the Hub cache also holds a `me/prixlm-tiny` (another
      release: other candidates and relations);
    - per Hub repo, from Hub caches lacking `relations.json`: recorded as absent by a 404
      marker (`me/marked`) or by the commit's file listing (`me/listed`), or lacking both
      files with nothing recorded (`me/uncached`)."""
    _, _, folder = released
    root = tmp_path_factory.mktemp("offline")
    work, elsewhere, hf_home = root / "work", root / "elsewhere", root / "hf_home"
    shutil.copytree(folder, work / "me" / "prixlm-tiny")
    elsewhere.mkdir()
    cached = hub_repo(hf_home, "me/prixlm-tiny", folder) / "snapshots" / COMMIT
    other = {code: ["CACHED_HUB_COPY"] for code in CANDIDATES}
    (cached / "candidates.json").write_text(json.dumps(other), encoding="utf-8")
    (cached / "relations.json").write_text(json.dumps({"en": ["capital"]}), encoding="utf-8")
    marked = hub_repo(hf_home, "me/marked", folder, drop=("relations.json",))
    (marked / ".no_exist" / COMMIT).mkdir(parents=True)
    (marked / ".no_exist" / COMMIT / "relations.json").touch()
    listed = hub_repo(hf_home, "me/listed", folder, drop=("relations.json",))
    files = {p.name: {"size": p.stat().st_size, "blob_id": "0" * 40} for p in folder.iterdir()}
    del files["relations.json"]
    (listed / "trees").mkdir()
    listing = {"format_version": 1, "files": files}
    (listed / "trees" / f"{COMMIT}.json").write_text(json.dumps(listing), encoding="utf-8")
    hub_repo(hf_home, "me/uncached", folder, drop=("candidates.json", "relations.json"))
    repos = ("me/marked", "me/listed", "me/uncached")
    done = run_fresh(
        OFFLINE_CHILD, json.dumps(PARAMS), "me/prixlm-tiny", elsewhere, *repos, cwd=work,
        hf_home=hf_home,
    )  # fmt: skip
    return last_json_line(done)


def test_a_folder_loaded_by_a_relative_name_keeps_its_files_after_a_chdir(offline):
    """`pipeline(model="me/prixlm-tiny")` from the folder `./me/prixlm-tiny`, then a chdir:
    the candidates and relations are still the folder's, not those of the Hub cache's
    `me/prixlm-tiny` (another release); the same for `handler.py`'s folder `"."`."""
    out = offline["chdir"]
    assert out["candidates"] == CANDIDATES
    assert out["handler_candidates"] == CANDIDATES
    assert out["relations"] == RELATIONS
    objects = [answer["object"] for answer in out["before"]]
    assert len(objects) == 2 and set(objects) <= set(CANDIDATES["en"])  # the folder's labels
    assert out["after"] == out["before"] and out["handler"] == out["before"]


@pytest.mark.parametrize("repo", ["me/marked", "me/listed"])
def test_a_file_the_cache_records_as_absent_is_absent_offline(offline, repo):
    assert offline[repo]["candidates"] == CANDIDATES
    assert offline[repo]["relations"] == {}
    answer = offline[repo]["answer"]
    assert len(answer) == 2 and set(answer) <= set(CANDIDATES["en"]), answer


def test_a_hub_file_not_in_the_cache_offline_is_an_error_that_says_so(offline):
    """Not "no candidates" nor "no relations": the files may well be on the Hub."""
    out = offline["me/uncached"]
    for key, name in (("candidates", "candidates.json"), ("relations", "relations.json")):
        assert out[key] == (
            f"OSError: HF_HUB_OFFLINE is set and {name} of 'me/uncached' (revision main) is "
            "not in the Hub cache: load the model once with a connection (HF_HUB_OFFLINE "
            "unset), or load a local folder that has it"
        )
    assert out["answer"].startswith("OSError: HF_HUB_OFFLINE is set and candidates.json")


# ---------------------------------------------------------------- a Hub repo, no network
NO_NETWORK_CHILD = (
    textwrap.dedent(
        """
    import json, socket, sys

    def refuse(*args, **kwargs):
        raise OSError(101, "Network is unreachable (test)")

    socket.socket.connect = socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    import huggingface_hub
    import huggingface_hub.file_download as file_download
    from huggingface_hub.errors import RemoteEntryNotFoundError
    from huggingface_hub.utils import httpx

    params, (repo_id, missing) = json.loads(sys.argv[1]), sys.argv[2].split(":")

    def metadata(url, *args, **kwargs):  # the Hub's answer to a file request
        if f"/{repo_id}/resolve/" in url and url.endswith(f"/{missing}"):  # no such file
            response = httpx.Response(404, request=httpx.Request("HEAD", url))
            raise RemoteEntryNotFoundError(f"404 Entry Not Found: {url}", response=response)
        raise httpx.ConnectError("Network is unreachable (test)")

    def listing(*args, **kwargs):  # at once, not after the retries of a real connection
        raise httpx.ConnectError("Network is unreachable (test)")

    file_download.get_hf_file_metadata = metadata
    huggingface_hub.HfApi.list_repo_tree = listing  # transformers lists a repo's templates
    """
    )
    + ASK_EACH_REPO.format(first=3)
    + "print(json.dumps(out))\n"
)


@pytest.fixture(scope="module")
def no_network(released, tmp_path_factory) -> dict:
    """What the pipeline reads with no network (HF_HUB_OFFLINE unset) from Hub caches
    lacking `candidates.json` and `relations.json` (`me/partial`, as after loading the model
    alone), or only `relations.json`, which the Hub says `me/norelations` has not."""
    _, _, folder = released
    hf_home = tmp_path_factory.mktemp("no_network_hub")
    hub_repo(hf_home, "me/partial", folder, drop=("candidates.json", "relations.json"))
    hub_repo(hf_home, "me/norelations", folder, drop=("relations.json",))
    online = {"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0"}
    missing = "me/norelations:relations.json"
    repos = ("me/partial", "me/norelations")
    done = run_fresh(
        NO_NETWORK_CHILD, json.dumps(PARAMS), missing, *repos, cwd=hf_home, hf_home=hf_home,
        **online,
    )  # fmt: skip
    return last_json_line(done)


def test_a_hub_file_the_pipeline_cannot_reach_is_an_error_that_says_so(no_network):
    """Not languages [] and relations {} (unknown relations then warn of nothing)."""
    out = no_network["me/partial"]
    for key, name in (("candidates", "candidates.json"), ("relations", "relations.json")):
        assert isinstance(out[key], str), f"{key}: {out[key]!r}"  # not {}: an error
        assert out[key].startswith(
            f"OSError: cannot reach the Hub and {name} of 'me/partial' (revision main) is not "
            "in the Hub cache ("
        ), out[key]
        assert out[key].endswith(
            "connect and load it again, or download the repository to a folder and load that "
            "folder (with HF_HUB_OFFLINE=1)"
        )
    assert out["answer"].startswith("OSError: cannot reach the Hub and candidates.json")


def test_a_file_the_hub_says_the_repo_lacks_is_absent(no_network):
    out = no_network["me/norelations"]
    assert out["candidates"] == CANDIDATES  # from the cache: the Hub was not reachable
    assert out["relations"] == {}  # the Hub said: no such file
    assert len(out["answer"]) == 2 and set(out["answer"]) <= set(CANDIDATES["en"]), out


# ---------------------------------------------------------------- the folder itself
def test_a_folder_is_kept_by_its_absolute_path_and_its_loss_is_named(tmp_path, monkeypatch):
    """`StoredFiles.of` a relative folder: the same files after a chdir; the folder removed
    later is an error naming it, not a folder without candidates."""
    from modeling_prixlm.stored_files import StoredFiles

    folder = tmp_path / "me" / "release"
    folder.mkdir(parents=True)
    (folder / "candidates.json").write_text("{}", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    stored = StoredFiles.of("me/release", revision="v1")
    monkeypatch.chdir(folder)
    assert stored == StoredFiles(str(folder), local=True, revision="v1")
    assert stored.path("candidates.json") == str(folder / "candidates.json")
    assert stored.path("relations.json") is None
    assert StoredFiles.of("").path("candidates.json") is None  # a model built in memory
    (folder / "candidates.json").unlink()
    folder.rmdir()
    with pytest.raises(FileNotFoundError, match="the model's folder no longer exists") as error:
        stored.path("candidates.json")
    assert str(error.value) == f"{folder}: the model's folder no longer exists"


@pytest.mark.parametrize("name", ["candidates.json", "relations.json"])
def test_a_stored_file_that_is_a_folder_is_refused_naming_it(released, tmp_path, name):
    """A release folder whose `candidates.json` is a folder (an unpacked archive, a copy
    gone wrong) was read as a release without candidates: "stored: none"."""
    from transformers import pipeline

    folder = tmp_path / "release"
    shutil.copytree(released[2], folder)
    (folder / name).unlink()
    (folder / name / "en").mkdir(parents=True)
    pipe = pipeline(model=str(folder), trust_remote_code=True)
    attribute = "candidate_labels" if name == "candidates.json" else "relations"
    with pytest.raises(IsADirectoryError) as error:
        getattr(pipe, attribute)
    assert str(error.value) == (
        f"{folder / name}: a folder, not the release's {name} file: remove or replace it"
    )
    if name == "candidates.json":
        with pytest.raises(IsADirectoryError, match="a folder, not the release's"):
            pipe("Germany | currency", top_k=1, num_beams=2)


#: A second commit of a test Hub repo, tagged `v1`.
TAGGED = "fedcba9876543210fedcba9876543210fedcba98"
#: What the repo's `v1` stores: other candidates and relations than main's.
TAGGED_FILES = {
    "candidates.json": {code: labels[:2] for code, labels in CANDIDATES.items()},
    "relations.json": {"en": ["currency"], "de": ["Währung"]},
}


def test_a_hub_repo_loaded_at_a_revision_reads_that_revision_s_files(released, tmp_path):
    """`pipeline(model=REPO, revision="v1")`: the candidates and relations are those of
    `v1`, beside the weights they were released with, not main's."""
    repo = hub_repo(tmp_path / "hf_home", "me/tagged", released[2])
    shutil.copytree(repo / "snapshots" / COMMIT, repo / "snapshots" / TAGGED)
    for name, stored in TAGGED_FILES.items():
        (repo / "snapshots" / TAGGED / name).write_text(json.dumps(stored), encoding="utf-8")
    (repo / "refs" / "v1").write_text(TAGGED)
    script = textwrap.dedent(
        """
        import json
        from transformers import pipeline
        pipe = pipeline(model="me/tagged", revision="v1", trust_remote_code=True)
        answers = pipe("Germany | currency", top_k=2, num_beams=3)
        print(json.dumps({"candidates.json": pipe.candidate_labels,
                          "relations.json": pipe.relations,
                          "answers": [answer["object"] for answer in answers]}))
        """
    )
    out = last_json_line(run_fresh(script, cwd=tmp_path, hf_home=tmp_path / "hf_home"))
    assert {name: out[name] for name in TAGGED_FILES} == TAGGED_FILES
    assert set(out["answers"]) <= set(TAGGED_FILES["candidates.json"]["en"])
