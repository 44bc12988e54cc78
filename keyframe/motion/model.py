"""A learned movement: predictor weights, feature settings and the calibrated threshold, in one versioned file.

The file is a ``torch.save`` archive of plain data (tensors, numbers, strings,
lists and dicts) read back with ``weights_only=True``, so loading a model never
runs code. A file that is not such an archive, is cut short, or was written by
an incompatible format version gives one clear error.

Examples
--------
>>> model = load_model("wave.kfm")  # doctest: +SKIP
>>> model.features.kind, model.window.length, round(model.threshold, 3)  # doctest: +SKIP
('pixels', 9, 0.214)
"""

from __future__ import annotations

import logging
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from keyframe.errors import fail
from keyframe.motion.cohort import CohortMember
from keyframe.motion.features import FeatureConfig
from keyframe.motion.predictor import NetConfig, Predictor
from keyframe.motion.windows import WindowConfig

log = logging.getLogger(__name__)

FORMAT = "keyframe-movement"
VERSION = 4
# Version 3 files (before cohorts) read as models without one.
READABLE_VERSIONS = (3, VERSION)


@dataclass
class MovementModel:
    """Everything :func:`keyframe.motion.detect` needs to score a video for one movement.

    Attributes
    ----------
    features, window, net : the settings it was learned with.
    dim : feature length per frame; image_shape : ``(C, H, W)`` for pixel features, else None.
    state : the predictor's weights (a state dict).
    ref_mse, ref_dssim : the model's median errors on the held-out windows (a score of 0).
    threshold : scores at or above it count as the movement.
    ref_still, motion_weight : persistence's median error on the held-out windows and the weight of the
        penalty on windows that move more or less than that (see :func:`keyframe.motion.predictor.match`).
    cohort : predictors of the negative clips it was learned with; when there are some, window
        scores are relative to them (see :mod:`keyframe.motion.cohort`).
    impostor_mean, impostor_spread : this model's raw scores' mean and spread on the negative clips.
    partners : models of other feature kinds learned on the same clips; window scores are then the
        ``weights``-weighted mean over :meth:`parts` (and ``threshold`` applies to that mean).
    calibration : how the threshold was chosen (method, score statistics).
    info : what it was learned from, and how long it took.
    """

    features: FeatureConfig
    window: WindowConfig
    net: NetConfig
    dim: int
    image_shape: tuple[int, int, int] | None
    state: dict
    ref_mse: float
    ref_dssim: float
    threshold: float
    ref_still: float = 0.0
    motion_weight: float = 0.0
    cohort: list[CohortMember] = field(default_factory=list)
    impostor_mean: float = 0.0
    impostor_spread: float = 1.0
    partners: list["MovementModel"] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    calibration: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    _predictor: Predictor | None = field(default=None, repr=False, compare=False)

    def predictor(self) -> Predictor:
        """The predictor network in eval mode (built once)."""
        if self._predictor is None:
            self._predictor = Predictor.from_state(self.dim, self.net, self.state)
        return self._predictor

    @property
    def refs(self) -> tuple[float, float, float]:
        """The reference errors :func:`~keyframe.motion.predictor.match` scores against."""
        return self.ref_mse, self.ref_dssim, self.ref_still

    @property
    def stats(self) -> tuple[float, float]:
        """The impostor mean and spread (see :mod:`keyframe.motion.cohort`)."""
        return self.impostor_mean, self.impostor_spread

    def parts(self) -> list["MovementModel"]:
        """This model and its partners, in the order of ``weights``."""
        return [self, *self.partners]

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "features": self.features.to_dict(),
            "window": {"length": self.window.length, "stride": self.window.stride},
            "net": self.net.to_dict(),
            "dim": self.dim,
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "state": {k: v.detach().cpu().contiguous() for k, v in self.state.items()},
            "ref_mse": float(self.ref_mse),
            "ref_dssim": float(self.ref_dssim),
            "threshold": float(self.threshold),
            "ref_still": float(self.ref_still),
            "motion_weight": float(self.motion_weight),
            "cohort": [member.to_dict() for member in self.cohort],
            "impostor": [float(self.impostor_mean), float(self.impostor_spread)],
            "partners": [partner.to_dict() for partner in self.partners],
            "weights": [float(w) for w in self.weights],
            "calibration": self.calibration,
            "info": self.info,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to ``path`` atomically (temporary name, then rename)."""
        from keyframe.io import atomic_path

        path = Path(path)
        with atomic_path(path) as tmp:
            torch.save(self.to_dict(), tmp)
        log.info("saved movement model to %s", path)
        return path


def load_model(path: str | os.PathLike) -> MovementModel:
    """Read a model written by :meth:`MovementModel.save`.

    Raises
    ------
    KeyframeError
        If the file is missing, damaged, not a movement model, or from another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise fail(path, "no such model file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError) as error:
        raise fail(path, f"not a readable movement model (damaged or another kind of file: {type(error).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise fail(path, "not a keyframe movement model")
    if data.get("version") not in READABLE_VERSIONS:
        raise fail(path, f"movement model format version {data.get('version')!r}; this keyframe reads versions "
                         f"{', '.join(map(str, READABLE_VERSIONS))}: learn it again")
    try:
        model = _from_dict(data)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise fail(path, f"damaged movement model ({type(error).__name__}: {str(error).splitlines()[0][:120]})") from None
    return model


def _from_dict(data: dict) -> MovementModel:
    """A model (and its partners) from :meth:`MovementModel.to_dict`'s output, every network built to check it."""
    impostor_mean, impostor_spread = data.get("impostor", [0.0, 1.0])
    model = MovementModel(
        features=FeatureConfig(**data["features"]),
        window=WindowConfig(**data["window"]),
        net=NetConfig.from_dict(data["net"]),
        dim=int(data["dim"]),
        image_shape=tuple(data["image_shape"]) if data["image_shape"] else None,
        state=data["state"],
        ref_mse=float(data["ref_mse"]),
        ref_dssim=float(data["ref_dssim"]),
        threshold=float(data["threshold"]),
        ref_still=float(data["ref_still"]),
        motion_weight=float(data["motion_weight"]),
        cohort=[CohortMember.from_dict(member) for member in data.get("cohort", [])],
        impostor_mean=float(impostor_mean),
        impostor_spread=float(impostor_spread),
        partners=[_from_dict(partner) for partner in data.get("partners", [])],
        weights=[float(w) for w in data.get("weights", [])],
        calibration=data.get("calibration", {}),
        info=data.get("info", {}),
    )
    if len(model.weights) != (len(model.partners) + 1 if model.partners else 0):
        raise ValueError(f"{len(model.weights)} weights for {len(model.partners)} partners")
    model.predictor()
    for member in model.cohort:
        member.predictor(model.dim, model.net)
    return model
