"""The synthetic contact-history world: a producer of contract tables with a known, hidden
complaint risk (demos, tests, benchmarks). Nothing outside this package knows its knobs."""

from data.simulator.params import WorldParams
from data.simulator.write import simulate_world

__all__ = ["WorldParams", "simulate_world"]
