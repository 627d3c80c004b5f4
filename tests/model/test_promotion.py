"""The champion gate: a floor, no promotion on "cannot tell", compare-and-set, promotion as
the last step, and runs killed mid-way marked FAILED."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import mlflow
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from experiments.config import load_config
from training import promote, registry


class FakeRegistry:
    """Just enough of MlflowClient's registry calls for the gate."""

    def __init__(self, champion: str | None, fail: bool = False) -> None:
        self.aliases = {} if champion is None else {"champion": champion}
        self.fail, self.moves = fail, []

    def search_registered_models(self, filter_string: str):
        if self.fail:
            raise MlflowException("database is locked")
        return [object()]

    def get_registered_model(self, name: str):
        return SimpleNamespace(aliases=dict(self.aliases))

    def get_model_version(self, name: str, version: str):
        return SimpleNamespace(version=version)

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.aliases[alias] = version
        self.moves.append((alias, version))


def evaluation(model: float, rule: float) -> dict:
    metric = "average_precision"
    return {"model": {metric: model}, "rule_frequent_contact": {metric: rule}}


def test_a_first_model_must_beat_the_frequent_contact_rule(tmp_path):
    config = load_config(workspace={"root": str(tmp_path)})
    client = FakeRegistry(champion=None)
    below = promote.judge(client, config, None, evaluation(model=0.03, rule=0.04))
    assert not below.promote and "frequent-contact rule" in below.reason
    above = promote.judge(client, config, None, evaluation(model=0.05, rule=0.04))
    assert above.promote and above.champion_version is None


def test_a_registry_that_cannot_answer_is_not_read_as_no_champion(tmp_path):
    config = load_config(workspace={"root": str(tmp_path)})
    with pytest.raises(MlflowException, match="locked"):
        promote.judge(FakeRegistry(None, fail=True), config, None, evaluation(0.05, 0.04))


def test_the_alias_moves_only_if_the_champion_is_still_the_one_compared(tmp_path):
    config = load_config(workspace={"root": str(tmp_path)})
    decision = promote.Decision(True, "challenger better", "average_precision", 0.2, 0.1, 0.15, "1")
    moved_meanwhile = FakeRegistry(champion="2")
    promoted, reason = promote.promote_if_unchanged(moved_meanwhile, config, "3", decision)
    assert not promoted and "moved to v2" in reason and moved_meanwhile.moves == []
    unchanged = FakeRegistry(champion="1")
    assert promote.promote_if_unchanged(unchanged, config, "3", decision)[0]
    assert unchanged.moves == [("champion", "3")]


def test_runs_of_dead_processes_are_marked_failed(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("x", artifact_location=(tmp_path / "a").as_uri())
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    tags = registry.owner_tags()
    dead = client.create_run(experiment, tags={**tags, registry.PID_TAG: str(proc.pid)})
    alive = client.create_run(experiment, tags={**tags, registry.PID_TAG: str(os.getppid())})
    assert registry.fail_dead_runs(client, "x") == [dead.info.run_id]
    assert client.get_run(dead.info.run_id).info.status == "FAILED"
    assert client.get_run(alive.info.run_id).info.status == "RUNNING"


@pytest.mark.slow
def test_promotion_is_the_last_step_of_training(trained, small_world, tmp_path, monkeypatch):
    from training.train import train

    ws = tmp_path / "ws"
    shutil.copytree(trained["root"], ws)
    (ws / "evaluation.json").unlink()
    config = trained["config"].model_copy(
        update={"workspace": trained["config"].workspace.model_copy(update={"root": ws})}
    )
    seen = {}
    real = promote.promote_if_unchanged

    def spy(client, config, version, decision):
        seen["evaluation"] = json.loads((ws / "evaluation.json").read_text())
        seen["report"] = (ws / "evaluation.html").exists()
        seen["run_status"] = mlflow.get_run(seen["evaluation"]["run_id"]).info.status
        return real(client, config, version, decision)

    monkeypatch.setattr(promote, "promote_if_unchanged", spy)
    result = train(config, small_world)
    assert seen["report"] and seen["run_status"] == "FINISHED"
    assert seen["evaluation"]["version"] == result.version
    final = json.loads((ws / "evaluation.json").read_text())
    assert final["promoted_to_champion"] == result.promoted
    assert final["champion_comparison"]["champion_version"] == "1"


def test_a_champion_that_builds_its_features_otherwise_is_judged_on_its_own(
    trained, small_world, tmp_path, monkeypatch
):
    """A challenger trained with other feature parameters (here a stricter very-negative
    threshold) is compared with the champion on the same test rows, each model on the
    features it was trained with: the champion's are rebuilt its own way."""
    from experiments.config import with_section
    from training.train import train

    ws = tmp_path / "ws"
    shutil.copytree(trained["root"], ws)
    config = with_section(
        trained["config"].model_copy(
            update={"workspace": trained["config"].workspace.model_copy(update={"root": ws})}
        ),
        "features",
        very_negative_sentiment=-60.0,
    )
    rebuilt = []
    real = promote.judge

    def spy(client, config, test, evaluation, parameters, rebuild):
        def counted(champion_parameters):
            rebuilt.append(champion_parameters)
            return rebuild(champion_parameters)

        return real(client, config, test, evaluation, parameters, counted)

    monkeypatch.setattr(promote, "judge", spy)
    result = train(config, small_world)
    comparison = result.evaluation["champion_comparison"]
    champion = trained["scorer"].model.feature_parameters
    assert rebuilt == [champion] and champion.very_negative_sentiment == -80
    assert comparison["champion_version"] == "1" and comparison["champion"] is not None
    assert "cannot be evaluated" not in comparison["reason"]
