"""The daily outreach loop on a simulated world whose true effect of a call is known.

A world of its own (``loop:`` in the config) runs for ``simulation.days`` days; a model is
trained on it and registered in a workspace of its own (``WORKSPACE/loop``, made anew). Then, each loop day: the day's list
is scored on everything exported so far (with today's assignment), the simulated team calls
the ``contact`` group and reaches ``loop.reach_rate`` of them, a reached customer loses
``loop.outreach_effect`` of their hidden frustration (or, in the heterogeneous world, the
share their cause and person allow), the outcomes are recorded in the outcome store (a
reached call's code as an agent would note what it did, ``loop.agent_error`` of them wrong:
:func:`noted_codes`), and the world runs a day. When the last day's 48 hours have passed,
``radar monitor`` measures the effect (contact minus holdout complaint rate, with its
interval) and it is set beside the truth for exactly what that difference estimates.

The estimand: the average, over every customer-day the loop's lists assigned (``contact``
or ``holdout``: the group the assignment randomises), of the change in the customer's
probability of a complaint in the 48 hours after the list's cutoff that being put on the
``contact`` list brings, the call reaching ``loop.reach_rate`` of them (an intention-to-treat
effect: unanswered calls count, as they do in the measured difference). Days are weighted
by how many customers they assigned, as the pooled difference weights them (the holdout
share is the same every day). The truth is computed for that estimand from the simulator's
hidden state: each assigned customer's 48-hour complaint probability with and without a
reached call, on the same forward paths, times the reach rate.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np
import pandas as pd

from data.contract import SCHEMAS, validate_table
from data.history import History, first_activity
from data.simulator.params import WorldParams
from data.simulator.tables import customer_position
from data.simulator.world import World
from data.simulator.write import write_world
from experiments.config import RadarConfig
from serving.batch.risk_list import score_day
from serving.monitoring.monitor import run_monitor
from serving.outreach.outcomes import OutcomeStore
from serving.publication import CONTACT, HOLDOUT
from serving.scorer import Scorer
from training.train import train

log = logging.getLogger(__name__)
# The code an agent notes for a call that reached the customer, read from the share of the
# hidden frustration it removed: below 0 it made things worse, then changed nothing, calmed
# the customer, resolved the issue (codes of the outreach page, in order of worth).
NOTED_CODES = ("customer_upset", "no_change", "customer_calmed", "issue_resolved")
NOTE_BANDS = (0.0, 0.25, 0.6)  # the shares at which a note moves up a code
UNREACHED = "no_answer"


@dataclass(frozen=True)
class LoopResult:
    """What the loop measured beside what is true."""

    true_effect: float  # the estimand's true value (see the module's docstring)
    measured: dict  # the monitor's outreach_effect (difference and 95 % interval)
    report: dict  # the whole monitoring report
    days: list[dict]  # per loop day: contact, holdout, reached
    # Per listed customer and day: the true effect of being put on the contact list, the
    # true 48-hour complaint probability without a call, whether the list assigned them, the
    # share of hidden frustration a call would remove and whether the team reached them (for
    # the evaluation of whom a call helps, never for a model), and the export at the end.
    truth: pd.DataFrame
    history: History


def loop_config(config: RadarConfig) -> RadarConfig:
    """The loop's own workspace (beside the main one) and its outreach settings."""
    root = config.workspace.root / "loop"
    outreach = config.outreach.model_copy(
        update={
            "capacity_k": None,
            "capacity_fraction": config.loop.capacity_fraction,
            "segment_capacity": {},
            "holdout_fraction": config.loop.holdout_fraction,
            "outcomes_url": None,  # the loop's own SQLite store
        }
    )
    return config.model_copy(
        update={
            "workspace": config.workspace.model_copy(update={"root": root}),
            "outreach": outreach,
        }
    )


def run_outreach_loop(config: RadarConfig) -> LoopResult:
    """Simulate, train, run the loop's days, let their labels mature, and judge them."""
    loop, sim, cfg = config.loop, config.simulation, loop_config(config)
    # The loop's workspace is its own, made anew each run: lists, outcomes and models of an
    # earlier run (another size, say) must not be judged with this one's.
    shutil.rmtree(cfg.workspace.root, ignore_errors=True)
    horizon_days = -(-config.labels.horizon_hours // 24)
    params = replace(WorldParams(), outreach_effect=loop.outreach_effect)
    if loop.effect == "heterogeneous":
        params = params.with_heterogeneous_outreach()
    world = World(
        params,
        loop.customers,
        sim.days + loop.days + horizon_days,
        sim.seed + 1,  # a world of its own
        pd.Timestamp(sim.start),
        sim.truth_paths,
        config.labels.horizon_hours,
        sim.truth_days,
    )
    world.begin()
    for _ in range(sim.days):
        world.advance_day(progress=False)
    world_dir = cfg.workspace.world_dir
    write_world(
        world_dir, world, world.tables(), params, sim.truth_paths, sim.truth_days,
        config.labels.horizon_hours,
    )  # fmt: skip
    trained = train(cfg, world_dir)
    log.info("loop model: version %s (champion: %s)", trained.version, trained.promoted)
    scorer = Scorer.from_registry(cfg)
    store = OutcomeStore(cfg.outcomes_url())
    rng = np.random.default_rng([sim.seed, 11])
    agents = np.random.default_rng([sim.seed, 12])  # the notes' errors: no draw of rng moves
    effects: list[np.ndarray] = []
    truths: list[pd.DataFrame] = []
    days = []
    try:
        for _ in range(loop.days):
            history = exported(world)
            day = history.observed_until.date()
            _, listed = score_day(
                history, scorer, day, cfg.workspace.risk_lists_dir, cfg.labels,
                cfg.evaluation, cfg.outreach,
            )  # fmt: skip
            contact = listed.loc[listed["assignment"] == CONTACT, "customer_id"].to_numpy()
            positions = np.array([customer_position(c) for c in contact], dtype=np.int64)
            # The truth: every listed customer's change if put on the contact list (the
            # estimand averages the assigned ones; the rest let a ranking be judged on all).
            scored = listed["customer_id"].to_numpy()
            at = np.array([customer_position(c) for c in scored], dtype=np.int64)
            before, after = world.risk_if_reached(at)
            reached = rng.random(positions.size) < loop.reach_rate
            truth = pd.DataFrame(
                {
                    "date": day,
                    "customer_id": scored,
                    "true_effect": loop.reach_rate * (after - before),
                    "true_risk": before,  # without a call
                    "assigned": listed["assignment"].isin([CONTACT, HOLDOUT]).to_numpy(),
                    # What a call reaching the customer now does to their hidden
                    # frustration (the share it removes; negative: it adds), which is what
                    # an agent's note of the call reads, and whether the team reached them.
                    "true_call_share": world.call_effect(at),
                    "reached": np.isin(scored, contact[reached]),
                }
            )
            effect = truth.loc[truth["assigned"], "true_effect"].to_numpy()
            effects.append(effect)
            truths.append(truth)
            share = truth.set_index("customer_id").loc[contact, "true_call_share"].to_numpy()
            codes = np.asarray(NOTED_CODES)[noted_codes(share, loop.agent_error, agents)]
            world.reach(positions[reached])
            called = pd.Timestamp(day).tz_localize("UTC").to_pydatetime()
            store.record(
                [
                    {
                        "customer_id": str(cid),
                        "contacted_at": called,
                        "list_date": day,
                        "reached": bool(hit),
                        "outcome_code": str(code) if hit else UNREACHED,
                        "note": None,
                    }
                    for cid, hit, code in zip(contact, reached, codes, strict=True)
                ]
            )
            days.append(
                {
                    "date": day.isoformat(),
                    "contact": int(positions.size),
                    "holdout": int((listed["assignment"] == HOLDOUT).sum()),
                    "reached": int(reached.sum()),
                    "true_effect": float(effect.mean()) if effect.size else None,
                }
            )
            world.advance_day(progress=False)
    finally:
        store.close()
    for _ in range(horizon_days):  # the last list's 48 hours
        world.advance_day(progress=False)
    history = exported(world)
    report = run_monitor(history, cfg)
    true_effect = float(np.concatenate(effects).mean()) if effects else float("nan")
    truth = pd.concat(truths, ignore_index=True) if truths else pd.DataFrame()
    return LoopResult(true_effect, report["outreach_effect"], report, days, truth, history)


def noted_codes(share: np.ndarray, error: float, rng: np.random.Generator) -> np.ndarray:
    """The code (index into :data:`NOTED_CODES`) an agent notes for calls that removed
    ``share`` of the customer's frustration; a share ``error`` of them noted as another code,
    drawn evenly."""
    code = np.digitize(share, NOTE_BANDS)
    wrong = rng.random(code.size) < error
    other = (code + rng.integers(1, len(NOTED_CODES), code.size)) % len(NOTED_CODES)
    return np.where(wrong, other, code)


def exported(world: World) -> History:
    """What an export of the world taken now holds, through the contract."""
    tables = world.tables()
    frames = {name: validate_table(tables[name], schema)[0] for name, schema in SCHEMAS.items()}
    end = world.start + timedelta(days=world.hour // 24)
    return History(**frames, observed_until=pd.Timestamp(end), observed_from=first_activity(frames))


def covers(result: LoopResult) -> bool:
    """Whether the measured effect's interval covers the true effect."""
    interval = result.measured.get("interval")
    return bool(interval) and interval[0] <= result.true_effect <= interval[1]
