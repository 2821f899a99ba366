"""`complete`'s N-Triples fed back to the dataset build, as a KB builder chains them: the
predicted facts, renamed to a language's object-facts dump (or put first in one by `cat`),
were read as source facts and drawn into the test split, so the next model's evaluation
ranked the earlier model's predictions as gold facts. The file now opens with a comment line
that marks it as predictions; the build refuses such a file unless
`--allow_predicted_facts`, and reads the same triples with it."""

from __future__ import annotations

import shutil

from datasets import load_dataset

from prixlm.complete import main as complete
from prixlm.data.dbpedia.build import main as build
from prixlm.data.dbpedia.predicted_facts import PREDICTED_FACTS_HEADER
from prixlm.data.ntriples import read_triples


def test_predicted_facts_are_not_built_as_source_facts_unless_allowed(
    tiny_demo_output, tmp_path, capsys
):
    predicted = tmp_path / "new_facts_ja.nt"
    proposals = complete(
        ["--model", str(tiny_demo_output / "run" / "model"),
         "--dataset", str(tiny_demo_output / "dataset"), "--target_language", "ja",
         "--threshold", "0", "--limit", "12", "--num_beams", "3", "--no_progress",
         "--output", str(predicted)]
    )  # fmt: skip
    facts = {(p.query.subject_id, p.query.relation_id, p.object_id) for p in proposals}
    assert len(facts) == len(proposals) > 0
    first_line = predicted.read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith(f"{PREDICTED_FACTS_HEADER}: model ")
    assert "target_language ja, threshold 0 " in first_line
    assert set(read_triples(predicted, strict=True)) == facts  # a comment to N-Triples readers

    dumps = tmp_path / "dumps"
    shutil.copytree(tiny_demo_output / "cldr_dumps", dumps)
    (dumps / "mappingbased_objects_ja.ttl").unlink()  # the predictions as Japanese's facts
    shutil.copy(predicted, dumps / "mappingbased_objects_ja.nt")
    argv = ["--dump_dir", str(dumps), "--output_dir", str(tmp_path / "data"), "--no_progress",
            "--num_proc", "1", "--languages", "en,ja"]  # fmt: skip
    capsys.readouterr()
    assert build(argv) == 2
    assert capsys.readouterr().err == (
        f"error: {dumps / 'mappingbased_objects_ja.nt'}: facts predicted by a model (the file "
        "opens with a '# predicted by prixlm' line, as prixlm.complete and the Space write "
        "them), not source facts: a "
        "build draws test and validation rows from every fact, so an evaluation would rank "
        "the model's predictions as gold facts; keep the file out of --dump_dir, or pass "
        "--allow_predicted_facts to read its facts as source facts\n"
    )
    assert not (tmp_path / "data").exists()

    assert build([*argv, "--allow_predicted_facts"]) == 0  # asked for: read as source facts
    ja = load_dataset(str(tmp_path / "data"), "ja")
    built = {
        (row["subject_id"], row["relation_id"], row["object_id"])
        for split in ja.values()
        for row in split
    }
    assert built == facts
    card = (tmp_path / "data" / "README.md").read_text(encoding="utf-8")
    assert "--allow_predicted_facts" in card
