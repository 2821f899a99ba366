"""The suite reaches no network whether or not `HF_HUB_OFFLINE` is set (`make test` and CI
run it unset): `train.py --base_model xlm-roberta-base` reads the Hub id's config.json at
parse time (is it a Prix-LM release?), which, with no network, retried its DNS lookup for
about 23 s a call (test_refused_options spent two minutes in it)."""

from __future__ import annotations

import os
import socket

from huggingface_hub import constants

from prixlm.training.arguments import parse_training_arguments


def test_the_suite_runs_offline():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert constants.HF_HUB_OFFLINE


def test_a_hub_base_model_is_parsed_without_a_network_lookup(monkeypatch, tmp_path):
    lookups = []

    def refused(host, *args, **kwargs):
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "no network in the test suite")

    monkeypatch.setattr(socket, "getaddrinfo", refused)
    run = parse_training_arguments(
        ["--dataset", "d", "--output_dir", str(tmp_path), "--base_model", "xlm-roberta-base"]
    )
    assert run.model.base_model == "xlm-roberta-base"
    assert lookups == []
