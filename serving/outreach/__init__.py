"""Outreach: who is contacted today, the outcomes recorded, and the page the team works from."""
