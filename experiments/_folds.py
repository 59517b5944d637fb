"""Scoring a trained fold and summarising folds, for the experiment scripts (auxiliary_head.py)."""

from __future__ import annotations

import numpy as np


def score_fold(recipe, model, train, test) -> dict:
    """Test accuracy, class-weighted training accuracy (inference mode) and one-class answer."""
    from painzoo.evaluation.metrics import training_fit

    y_pred = (recipe.predict(model, test) >= 0.5).astype(int)
    fitted = (recipe.predict(model, train) >= 0.5).astype(int)
    fit = training_fit(train.labels, fitted, recipe.class_weights(train.labels))
    return {
        "acc": float(np.mean(y_pred == test.labels)),
        "train_acc": float(fit["train_accuracy"]),
        "one_class": len(np.unique(y_pred)) == 1,
    }


def summary(accs) -> str:
    """``mean ± std (ddof=1) % over N folds``."""
    spread = np.std(accs, ddof=1) if len(accs) > 1 else 0.0
    return f"{100 * np.mean(accs):.1f} ± {100 * spread:.1f} % over {len(accs)} folds"
