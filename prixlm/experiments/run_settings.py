"""The settings a results run's work folder was made with, so that a later run there either
goes on with the same ones or is refused.

The runners (`table1`, `dbp5l`, `ablations`, the similarity study) skip the work they find
done in their `--work_dir`: finished job records, built datasets, trained models, kept
evaluations. Started again with another `--seed`, other languages or another profile, they
used to report that old work under the new settings. The first run writes what its results
depend on to `work_dir/run_settings.json`; a later run with other values stops with an error
naming each difference. Settings that only change how long a run may take (time limits,
workers, deadlines) are not among them: a run may go on with more time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prixlm.cli import UsageError
from prixlm.outputs.atomic import write_json

RUN_SETTINGS_FILE = "run_settings.json"


def check_run_settings(work_dir: str | Path, settings: Mapping[str, Any]) -> None:
    """Keep `settings` in `work_dir` on the first run; `UsageError` naming every
    difference when the folder was made with others."""
    path = Path(work_dir) / RUN_SETTINGS_FILE
    settings = json.loads(json.dumps(dict(settings), default=str))
    if not path.is_file():
        write_json(settings, path, "--work_dir")
        return
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(
            f"{path}: unreadable ({error}); remove it or use another --work_dir"
        ) from None
    unrecorded = sorted(set(settings) - set(kept))
    if unrecorded:  # the folder is older than these settings: what it holds would not be reused
        raise UsageError(
            f"--work_dir {work_dir} was made by an earlier version of this command, which "
            f"did not record {', '.join(unrecorded)}: its work cannot be checked against "
            "them and would be done again; use another --work_dir, or remove this one"
        )
    differences = [
        f"{name} {settings.get(name)!r} (the folder's: {kept.get(name)!r})"
        for name in sorted(set(kept) | set(settings))
        if kept.get(name) != settings.get(name)
    ]
    if differences:
        raise UsageError(
            f"--work_dir {work_dir} holds work made with other settings: "
            f"{'; '.join(differences)}; go on with the folder's settings, or use another "
            "--work_dir"
        )


__all__ = ["RUN_SETTINGS_FILE", "check_run_settings"]
