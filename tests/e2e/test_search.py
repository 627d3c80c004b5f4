"""The hyperparameter search: nested MLflow runs, judged on validation, off by default."""

from __future__ import annotations

import json

import mlflow
import pytest

from experiments.config import ConfigError, load_config, with_section
from tests.conftest import small_config
from training.search import SEARCH_FILE, grid_trials, search

pytestmark = pytest.mark.slow


def test_grid_is_every_combination():
    assert grid_trials({"a": [1, 2], "b": [True]}) == [{"a": 1, "b": True}, {"a": 2, "b": True}]


def test_search_is_off_by_default_and_its_grid_names_model_settings():
    assert load_config().search.enabled is False
    with pytest.raises(ConfigError, match="num_leafs"):
        load_config(search={"grid": {"num_leafs": [7]}})
    with pytest.raises(ConfigError, match="must not be empty"):
        load_config(search={"grid": {"num_leaves": []}})


def test_search_logs_one_nested_run_per_trial_and_picks_the_best_on_validation(
    tmp_path, small_world
):
    config = with_section(small_config(tmp_path), "search", grid={"num_leaves": [3, 7]})
    result = search(config, small_world)

    assert [t["params"] for t in result.trials] == [{"num_leaves": 3}, {"num_leaves": 7}]
    scores = [t["validation"]["average_precision"] for t in result.trials]
    assert result.best_params == result.trials[scores.index(max(scores))]["params"]
    assert all(0 < s <= 1 for s in scores)

    client = mlflow.MlflowClient(config.workspace.mlflow_uri)
    experiment = client.get_experiment_by_name(config.registry.experiment)
    children = client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{result.run_id}'"
    )
    assert len(children) == 2
    assert {r.data.params["num_leaves"] for r in children} == {"3", "7"}
    assert all("validation.average_precision" in r.data.metrics for r in children)
    assert not any(k.startswith("test") for r in children for k in r.data.metrics)
    saved = json.loads((config.workspace.root / SEARCH_FILE).read_text())
    assert saved["best_params"] == result.best_params


def test_train_with_search_trains_the_best_trial_and_links_the_runs(tmp_path, small_world):
    from training.train import train

    config = with_section(
        small_config(tmp_path), "search", enabled=True, grid={"num_leaves": [3, 7]}
    )
    result = train(config, small_world)

    search_run = result.evaluation["search_run_id"]
    client = mlflow.MlflowClient(config.workspace.mlflow_uri)
    trials = client.search_runs(
        [client.get_run(search_run).info.experiment_id],
        f"tags.mlflow.parentRunId = '{search_run}'",
    )
    scores = {
        r.data.params["num_leaves"]: r.data.metrics["validation.average_precision"] for r in trials
    }
    trained = client.get_run(result.run_id)
    assert trained.data.tags["radar.search_run"] == search_run
    assert trained.data.params["model.num_leaves"] == max(scores, key=scores.get)
