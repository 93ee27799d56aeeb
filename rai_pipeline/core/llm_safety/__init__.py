"""The LLM safety domain's rules: config, frame and data checks, judges, rates through the
statistics engine, agreement, the judge against human labels, verdicts, version regressions."""
