"""Decisions about an evaluation: reviewer dispositions, the release gate, the vocabulary of
model versions in a registry (tags, partition keys, the sensor's planning rule). Imports
``metrics`` for the verdict names."""
