"""Relay's benchmark suite (not tests): a 1M-message dataset, in-process and HTTP timings, the competitors."""
