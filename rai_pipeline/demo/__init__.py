"""Demo datasets shipped with rai-pipeline: UCI Adult and a synthetic evaluation frame."""
