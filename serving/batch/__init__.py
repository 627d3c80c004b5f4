"""The batch jobs: the daily risk list (`radar score`) and scoring on Spark."""
