"""Benchmarks of the message path: raw baselines and Rampart's outbox relay, in one run.

Run with ``make bench`` or ``python -m bench``; see ``bench/README.md``.
"""
