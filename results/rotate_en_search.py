"""English RotatE on the demo's split: the search of `make table1` (profile `full`), checked.

Runs `prixlm.experiments.jobs.kge_job` as Table 1 does (the `full` grid's first N
configurations: 3rd argument; validation every 25 epochs up to 400, early stopping; a time
limit in seconds of this process's CPU clock: 4th argument) and logs, beside it, every
evaluated point's validation AND test hits@1/MRR (reporting only: the search chooses on
validation; the test column shows what the committed-style point, dim 128 at 200 epochs,
gives on the same split).

    PRIXLM_NUM_THREADS=1 python results/rotate_en_search.py outputs/demo/dataset \
        results/rotate_en_search.json 2 1000
"""

import json
import sys
import time

import prixlm.experiments.jobs as jobs
from prixlm.atomic_output import write_json
from prixlm.baselines.kge import KGEScorer
from prixlm.experiments.profiles import get_profile, kge_epoch_points, kge_grid, kge_stopping
from prixlm.link_prediction.evaluation import candidate_labels
from prixlm.link_prediction.scorer import evaluate_scorer

dataset, out, points, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
splits = jobs.load_language(dataset, "en")
candidates = candidate_labels(splits, "en")
side = []
real_train = jobs.train_kge


def train_kge(graph, config, epoch_points, on_point, **kw):
    def logged(epochs, model):
        scorer = KGEScorer(model, graph)
        m = {s: evaluate_scorer(scorer, splits[s], candidates) for s in ("validation", "test")}
        side.append(
            {"config": config.as_dict(), "epochs": epochs, "cpu_s": round(time.process_time(), 1),
             **{f"{s}_{k}": m[s][k] for s in m for k in ("hits_at_1", "mrr")}}
        )  # fmt: skip
        print("SIDE", json.dumps(side[-1]), flush=True)
        return on_point(epochs, model)

    return real_train(graph, config, epoch_points, logged, **kw)


jobs.train_kge = train_kge
profile = get_profile("full")
record = jobs.kge_job(
    dataset, ["en"], kge_grid("RotatE", "full")[:points], kge_epoch_points(profile, "RotatE"),
    time_limit=limit, budget_clock="cpu", **kge_stopping(profile),
)  # fmt: skip
write_json({"record": record, "every_point": side, "command": " ".join(sys.argv)}, out)
print("DONE", json.dumps({k: record[k] for k in ("winner", "validation", "test", "seconds")}))
