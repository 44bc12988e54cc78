"""Optuna searches for the CNN, the UNet and the stacker (``--trials N``).

Every search is scored on the held-out split the stacker trains on, and
only replaces the defaults when a trial beats them, so tuning never makes a
run worse on that split. Trials are seeded (TPE sampler), so a run repeats.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, replace

import numpy as np

from keyframe.segment.base import MEMBERS
from keyframe.segment.ensemble import EnsembleConfig, Stacker

log = logging.getLogger(__name__)


def _study(seed: int):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))


def tune_member(name: str, split, trials: int, default_score: float, seed: int = 0):
    """Search the member's ``Config.suggest`` space; ``(config, summary)`` if it beats ``default_score``, else None.

    ``split`` is a :class:`keyframe.segment.pipeline.HeldOut`.
    """
    from keyframe.segment.pipeline import iou, member_outputs

    config_class = type(MEMBERS[name]().config)
    configs = {}

    def objective(trial) -> float:
        config = config_class.suggest(trial)
        configs[trial.number] = config
        outputs = member_outputs(MEMBERS[name](config).fit(split.source, split.fit), split.source, list(split.truth))
        return float(np.mean([iou(outputs[i] > 0.5, truth) for i, truth in split.truth.items()]))

    study = _study(seed)
    study.optimize(objective, n_trials=trials)
    log.info("%s: best held-out IoU %.3f (defaults %.3f) with %s", name, study.best_value, default_score, study.best_params)
    if study.best_value <= default_score:
        return None
    return configs[study.best_trial.number], {"iou": round(study.best_value, 4), "default_iou": round(default_score, 4), **study.best_params}


def columns_for(features: np.ndarray, built_with: EnsembleConfig, config: EnsembleConfig) -> np.ndarray:
    """``features`` built with ``built_with`` reduced to what ``config`` uses (drops the 2 image columns)."""
    if built_with.image_features and not config.image_features:
        return features[:, :-2]
    return features


def stacker_iou(config: EnsembleConfig, train, test) -> float:
    """IoU on ``test`` pixels of a stacker fitted on ``train`` pixels (each ``(features, labels)``)."""
    stacker = Stacker(config).fit(*train)
    pred = stacker.predict_proba(test[0]) > stacker.threshold
    union = np.count_nonzero(pred | test[1])
    return 1.0 if union == 0 else np.count_nonzero(pred & test[1]) / union


def tune_ensemble(features: np.ndarray, labels: np.ndarray, groups: np.ndarray, base: EnsembleConfig, trials: int, seed: int = 0):
    """Search the stacker's settings by a two-fold split of the held-out pixels (by frame when there are several).

    Returns ``(config, summary)`` when a trial beats ``base``, else None.
    """
    rng = np.random.default_rng(seed)
    frames = np.unique(groups)
    if len(frames) >= 2:
        first = np.isin(groups, frames[::2])
    else:
        first = rng.random(len(labels)) < 0.5
    folds = [((features[first], labels[first]), (features[~first], labels[~first])),
             ((features[~first], labels[~first]), (features[first], labels[first]))]

    def score(config: EnsembleConfig) -> float:
        def cut(part):
            return columns_for(part[0], base, config), part[1]

        return float(np.mean([stacker_iou(config, cut(train), cut(test)) for train, test in folds]))

    default_score = score(base)
    configs = {}

    def objective(trial) -> float:
        suggested = EnsembleConfig.suggest(trial)
        # The features were built with the base's columns: a trial may drop the image columns, not add them.
        config = replace(base, model=suggested.model, C=suggested.C, hidden=suggested.hidden,
                         image_features=suggested.image_features and base.image_features, extra_features=suggested.extra_features)
        configs[trial.number] = config
        return score(config)

    study = _study(seed)
    study.optimize(objective, n_trials=trials)
    log.info("stacker: best IoU %.3f (defaults %.3f) with %s", study.best_value, default_score, study.best_params)
    if study.best_value <= default_score:
        return None
    best = configs[study.best_trial.number]
    return best, {"iou": round(study.best_value, 4), "default_iou": round(default_score, 4), **{k: v for k, v in asdict(best).items() if k in ("model", "C", "hidden", "image_features", "extra_features")}}
