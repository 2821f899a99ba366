"""The licence ids a Hub card's `license:` may hold, checked before a build writes one.

The Hub refuses a card whose `license:` is not one of its ids (lower case): the upload fails
with "Invalid metadata in README.md. - "license" must be one of [...]". The dataset build
and the KG-layout conversion write `--license` into the card, so an id the Hub refuses
(`CC-BY-SA-3.0`, `cc-by-sa`) is refused at the start instead of after the whole build; an id
in another case is written in the Hub's. A licence the Hub does not list is `other` (the
card then names it with `license_name` / `license_link`).
"""

from __future__ import annotations

import argparse
import difflib

#: The Hub's licence ids (https://huggingface.co/docs/hub/repositories-licenses).
HUB_LICENSES = frozenset(
    """apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m
    bigscience-bloom-rail-1.0 bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause
    bsd-3-clause bsd-3-clause-clear c-uda cc cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0
    cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0
    cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0
    cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0
    etalab-2.0 eupl-1.1 eupl-1.2 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc
    h-research intel-research lppl-1.3c ms-pl apple-ascl apple-amlr mpl-2.0 odc-by odbl
    openmdw-1.0 openrail++ osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl lgpl-lr
    deepfloyd-if-license fair-noncommercial-research-license llama2 llama3 llama3.1 llama3.2
    llama3.3 llama4 grok2-community gemma unknown other""".split()
)


def hub_license(value: str) -> str:
    """`value` as the Hub's licence id (its lower-case form, `CC-BY-SA-3.0` ->
    `cc-by-sa-3.0`); `ValueError` naming the closest ids if the Hub has no such id."""
    license_id = value.strip().lower()
    if license_id in HUB_LICENSES:
        return license_id
    close = difflib.get_close_matches(license_id, sorted(HUB_LICENSES), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise ValueError(
        f"--license {value!r} is not a Hub licence id{hint}: the Hub refuses a card with it; "
        "use one of https://huggingface.co/docs/hub/repositories-licenses, or 'other'"
    )


def license_argument(value: str) -> str:
    """`hub_license` as an argparse `type` (its message as the usage error)."""
    try:
        return hub_license(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


__all__ = ["HUB_LICENSES", "hub_license", "license_argument"]
