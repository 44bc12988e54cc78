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
from keyframe.motion.cohort import ScoredPredictor
from keyframe.motion.features import FeatureConfig
from keyframe.motion.predictor import NetConfig, Predictor
from keyframe.motion.windows import WindowConfig

log = logging.getLogger(__name__)

FORMAT = "keyframe-movement"
VERSION = 8
# Version 3 files (before cohorts) read as models without one; version 4 ones kept each predictor's
# reference errors and impostor statistics in fields of their own; version 5 ones and before used pose
# landmarks in the image plane; version 6 ones and before averaged the scores of several feature kinds
# (see _upgrade). Version 8 added the ``gesture`` kind; version 7 files read unchanged.
READABLE_VERSIONS = (3, 4, 5, 6, 7, VERSION)
# How a model of several feature kinds combines their window scores (see keyframe.motion.detect.fuse).
FUSIONS = ("min", "mean")


@dataclass
class MovementModel:
    """Everything :func:`keyframe.motion.detect` needs to score a video for one movement.

    Attributes
    ----------
    features, window, net : the settings it was learned with.
    dim : feature length per frame; image_shape : ``(C, H, W)`` for pixel features, else None.
    own : the movement's predictor, its reference errors on the held-out windows and its raw scores'
        mean and spread on the negative clips.
    threshold : scores at or above it count as the movement.
    motion_weight : the weight of the penalty on windows that move more or less than the held-out ones
        (see :func:`keyframe.motion.predictor.match`).
    cohort : predictors of the negative clips it was learned with; when there are some, window
        scores are relative to them (see :mod:`keyframe.motion.cohort`).
    partners : models of other feature kinds learned on the same clips; window scores are then those of
        :meth:`parts`, each in units of its spread (``weights``), combined by ``fusion`` (and ``threshold``
        applies to the result).
    fusion : ``"min"`` or ``"mean"`` (one of :data:`FUSIONS`).
    calibration : how the threshold was chosen (method, score statistics).
    info : what it was learned from, and how long it took.
    """

    features: FeatureConfig
    window: WindowConfig
    net: NetConfig
    dim: int
    image_shape: tuple[int, int, int] | None
    own: ScoredPredictor
    threshold: float
    motion_weight: float = 0.0
    cohort: list[ScoredPredictor] = field(default_factory=list)
    partners: list["MovementModel"] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    fusion: str = "min"
    calibration: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def predictor(self) -> Predictor:
        """The movement's predictor network in eval mode (built once)."""
        return self.own.predictor(self.dim, self.net)

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
            "own": self.own.to_dict(),
            "threshold": float(self.threshold),
            "motion_weight": float(self.motion_weight),
            "cohort": [member.to_dict() for member in self.cohort],
            "partners": [partner.to_dict() for partner in self.partners],
            "weights": [float(w) for w in self.weights],
            "fusion": self.fusion,
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


def _upgrade(data: dict) -> dict:
    """An archive of an earlier version in the current layout.

    Before version 5 each predictor's numbers were fields of their own, now one record per predictor;
    before version 6 ``pose`` features were image-plane landmarks, now the default is the body frame;
    before version 7 the scores of several feature kinds were averaged, now their minimum is the default.
    """
    version = data.get("version", VERSION)
    if version < 6:
        data = {**data, "features": {**data["features"], "pose_frame": "image"}}
    if version < 7:
        data = {**data, "fusion": "mean"}
    if version >= 5:
        return data

    def record(fields: dict, mean: float, spread: float) -> dict:
        refs = [fields["ref_mse"], fields["ref_dssim"], fields["ref_still"]]
        return {"state": fields["state"], "refs": refs, "mean": mean, "spread": spread, "source": fields.get("source", "")}

    mean, spread = data.get("impostor", [0.0, 1.0])
    cohort = [record(member, member["mean"], member["spread"]) for member in data.get("cohort", [])]
    return {**data, "own": record(data, mean, spread), "cohort": cohort}


def _from_dict(data: dict) -> MovementModel:
    """A model (and its partners) from :meth:`MovementModel.to_dict`'s output, every network built to check it."""
    data = _upgrade(data)
    model = MovementModel(
        features=FeatureConfig(**data["features"]),
        window=WindowConfig(**data["window"]),
        net=NetConfig.from_dict(data["net"]),
        dim=int(data["dim"]),
        image_shape=tuple(data["image_shape"]) if data["image_shape"] else None,
        own=ScoredPredictor.from_dict(data["own"]),
        threshold=float(data["threshold"]),
        motion_weight=float(data["motion_weight"]),
        cohort=[ScoredPredictor.from_dict(member) for member in data.get("cohort", [])],
        partners=[_from_dict(partner) for partner in data.get("partners", [])],
        weights=[float(w) for w in data.get("weights", [])],
        fusion=data.get("fusion", "min"),
        calibration=data.get("calibration", {}),
        info=data.get("info", {}),
    )
    if model.fusion not in FUSIONS:
        raise ValueError(f"unknown fusion {model.fusion!r}")
    if len(model.weights) != (len(model.partners) + 1 if model.partners else 0):
        raise ValueError(f"{len(model.weights)} weights for {len(model.partners)} partners")
    model.predictor()
    for member in model.cohort:
        member.predictor(model.dim, model.net)
    return model
