"""fairlearn's ThresholdOptimizer as the oracle of the per-group threshold what-if: fitted on
rows, its rule for each group (two threshold operations mixed, and for equalized odds a share
of constant predictions) applied to the rows with numpy and scored with scikit-learn."""

import numpy as np
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import accuracy_score


class GivenScores(ClassifierMixin, BaseEstimator):
    """A fitted classifier whose probability is the score column it is given."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        s = np.asarray(X, dtype=np.float64)[:, 0]
        return np.column_stack([1 - s, s])


def oracle(frame, constraint, tolerance=0.0):
    """Each group's expected rates and accuracy under ThresholdOptimizer's rule, fitted on
    ``frame`` (columns ``g``, ``label``, ``score``)."""
    optimizer = ThresholdOptimizer(
        estimator=GivenScores().fit(None, None),
        constraints=constraint,
        objective="accuracy_score",
        prefit=True,
        predict_method="predict_proba",
        tol=tolerance or None,
    )
    optimizer.fit(frame[["score"]], frame["label"], sensitive_features=frame["g"])
    expected = {}
    for group, part in frame.groupby("g"):
        rule = optimizer.interpolated_thresholder_.interpolation_dict[group]
        s, y = part["score"].to_numpy(), part["label"].to_numpy()
        chosen = rule.p0 * rule.operation0(s) + rule.p1 * rule.operation1(s)
        if "p_ignore" in rule:
            chosen = (1 - rule.p_ignore) * chosen + rule.p_ignore * rule.prediction_constant
        expected[group] = {
            "selection_rate": chosen.mean(),
            "true_positive_rate": chosen[y == 1].mean(),
            "false_positive_rate": chosen[y == 0].mean(),
            # expected accuracy of the randomized rule: the rows' weights on each decision
            "accuracy": accuracy_score(
                np.r_[y, y],
                np.r_[np.ones_like(y), np.zeros_like(y)],
                sample_weight=np.r_[chosen, 1 - chosen],
            ),
        }
    return expected
