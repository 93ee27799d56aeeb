"""Rules the evaluation frame must satisfy: the pandera schema and the Great Expectations
suite's contents (the runner itself is an adapter). A new data check goes here."""
