"""``hf-replearn eval probe --push REPO``: the probe's table and numbers into a hub repo's model card.

The repo's card is read (or started if the repo has none), its section for this dataset's probe is added or
replaced (sections are keyed by their ``## Linear probe on <dataset>`` heading, so probing on another dataset
adds a section beside it), and every probe accuracy becomes a ``model-index`` entry (task ``linear probe``,
the dataset, split ``test``), replacing entries of the same metric and dataset from an earlier probe.
"""

from __future__ import annotations

import math
import re

from hf_replearn.errors import UserError
from hf_replearn.hub.push import check_repo_id

PROBE_PREFIXES = ("linear_probe/", "linear_probe_cv/", "knn/", "kmeans_nmi/")


def replace_section(text: str, section: str) -> str:
    """``text`` with the section whose first line matches ``section``'s replaced by it, or ``section`` appended."""
    heading = section.splitlines()[0]
    level = len(heading) - len(heading.lstrip("#"))
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^#{{1,{level}}} |\Z)", re.M | re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: section.rstrip() + "\n\n", text, count=1)
    return text.rstrip() + "\n\n" + section.rstrip() + "\n"


def probe_eval_results(results: dict, dataset: str) -> list:
    from huggingface_hub import EvalResult

    from hf_replearn.hub.model_card import dataset_type

    return [EvalResult(task_type="feature-extraction", task_name="linear probe", dataset_type=dataset_type(dataset),
                       dataset_name=dataset, dataset_split="test", metric_type=key, metric_name=key,
                       metric_value=float(value))
            for key, value in sorted(results.items())
            if key.startswith(PROBE_PREFIXES) and isinstance(value, (int, float)) and math.isfinite(value)]  # fmt: skip


def check_push_target(repo_id: str, token: str | None = None) -> None:
    """``--push REPO``, before the probe runs: a repo id, a hub that answers, and a repo there to add the card to."""
    from huggingface_hub import HfApi

    from hf_replearn.utils.inputs import hub_unreachable

    check_repo_id(repo_id, "--push")
    reason = hub_unreachable()
    if reason:
        raise UserError(f"--push {repo_id}: no hub can be reached ({reason}); set HF_ENDPOINT to a reachable hub "
                        "(see `hf-replearn hub serve`), or probe without --push")
    try:
        exists = HfApi().repo_exists(repo_id, token=token)
    except Exception as err:  # a refused token, a server error: said before the probe's minutes, not after
        raise UserError(f"--push {repo_id}: could not ask the hub about it ({type(err).__name__}: {str(err)[:200]})") from None
    if not exists:
        raise UserError(f"--push {repo_id}: no such repo on the hub; push the model first (hf-replearn hub push DIR "
                        f"{repo_id})")


def push_probe_card(repo_id: str, section: str, results: dict, dataset: str, token: str | None = None):
    """Add the probe ``section`` and ``results`` to ``repo_id``'s card and push it; returns the new card."""
    from huggingface_hub import HfApi, ModelCard, ModelCardData
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    check_repo_id(repo_id, "--push")
    try:
        card = ModelCard.load(repo_id, token=token)
    except EntryNotFoundError:  # a repo without a README yet
        card = ModelCard(f"---\n{ModelCardData().to_yaml()}\n---\n\n# {repo_id.split('/')[1]}\n")
    except RepositoryNotFoundError:
        raise UserError(f"--push {repo_id}: no such repo on the hub; push the model first (hf-replearn hub push DIR {repo_id})") from None
    except Exception as err:  # offline, refused token, unreachable endpoint: say so before nothing is written
        raise UserError(f"--push {repo_id}: could not read its card ({type(err).__name__}: {str(err)[:200]})") from None
    new = probe_eval_results(results, dataset)
    keep = [r for r in (card.data.eval_results or []) if not (r.dataset_name == dataset and r.metric_name in {n.metric_name for n in new})]
    card.data.eval_results = keep + new
    if not card.data.model_name:
        card.data.model_name = repo_id.split("/")[1]  # model-index needs a name
    card.text = replace_section(card.text, section)
    # upload_file rather than card.push_to_hub: the latter first asks the hub's /api/validate-yaml, which a
    # self-hosted hub (hf-replearn hub serve) does not serve
    HfApi(token=token).upload_file(path_or_fileobj=str(card).encode(), path_in_repo="README.md", repo_id=repo_id,
                                   commit_message=f"probe results on {dataset}")
    return card
