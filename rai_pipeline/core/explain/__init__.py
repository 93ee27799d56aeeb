"""Explaining a model version's scores: permutation importance overall and per group."""
