"""The evaluation config: what is evaluated (the data set and its columns' roles, the
sensitive and derived features), against which policy, who owns it; validated with errors
that name the file, the key and the rule, in the one format all the project's YAML files
share (:mod:`.files`). Imports ``stats`` and ``engine`` (identifier rule, group labels)
only."""
