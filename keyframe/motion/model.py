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
import math
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from keyframe.errors import KeyframeError, fail, is_whole, missing_file
from keyframe.motion.cohort import ScoredPredictor
from keyframe.motion.features import KINDS, POSE_FRAMES, POSE_POINTS, FeatureConfig
from keyframe.motion.predictor import NetConfig, Predictor
from keyframe.motion.windows import WindowConfig

log = logging.getLogger(__name__)

FORMAT = "keyframe-movement"
VERSION = 9
# Version 3 files (before cohorts) read as models without one; version 4 ones kept each predictor's
# reference errors and impostor statistics in fields of their own; version 5 ones and before used pose
# landmarks in the image plane; version 6 ones and before averaged the scores of several feature kinds
# (see _upgrade). Version 8 added the ``gesture`` kind and version 9 the crop that follows the motion
# (``crop_seconds``, whose default is 5 s since 2026-12-04); files of version 8 and before read with one crop per clip.
READABLE_VERSIONS = (3, 4, 5, 6, 7, 8, VERSION)
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

    def __repr__(self) -> str:
        # The dataclass's own repr prints every weight of every predictor: hundreds of lines for one model.
        kinds = "+".join(part.features.kind for part in self.parts())
        clips = self.info.get("clips", [])
        return (f"MovementModel(features={kinds!r}, window={self.window.length}, threshold={self.threshold:.3f}, "
                f"cohort={len(self.cohort)}, clips={clips!r})")

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
        from keyframe.io.atomic import write_torch

        path = write_torch(path, self.to_dict())
        log.info("saved movement model to %s", path)
        return path


def as_model(model) -> MovementModel:
    """``model`` itself, or the model in the file it names (:func:`load_model`)."""
    return model if isinstance(model, MovementModel) else load_model(model)


def is_model_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file that :meth:`MovementModel.save` wrote (of any format version): what a new
    model may replace. Other zip archives (a ``.docx``, a ``.npz``, a stylize checkpoint) are not."""
    if not is_zip(path):
        return False
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # whatever the unpickler makes of a foreign archive: not ours
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def is_zip(path: str | os.PathLike) -> bool:
    """Whether ``path`` reads as a zip archive. ``zipfile.is_zipfile`` raises instead of saying no when the
    archive's end record is damaged in some fields (its disk numbers)."""
    try:
        return zipfile.is_zipfile(path)
    except zipfile.BadZipFile:
        return False


def load_model(path: str | os.PathLike) -> MovementModel:
    """Read a model written by :meth:`MovementModel.save`.

    Raises
    ------
    KeyframeError
        If the file is missing, damaged, not a movement model, or from another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise missing_file(path, "model file")
    if not is_zip(path):  # torch.save writes a zip archive; the unpickler fails oddly on other files
        raise fail(path, "not a readable movement model (damaged or another kind of file: not a zip archive)")
    corrupt = _corrupt_entry(path)
    if corrupt is not None:
        raise fail(path, f"damaged movement model ({corrupt})")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError,
            IndexError, TypeError, AttributeError, OverflowError) as error:
        raise fail(path, f"not a readable movement model (damaged or another kind of file: {type(error).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise fail(path, "not a keyframe movement model")
    if data.get("version") not in READABLE_VERSIONS:
        raise fail(path, f"movement model format version {data.get('version')!r}; this keyframe reads versions "
                         f"{', '.join(map(str, READABLE_VERSIONS))}: learn it again")
    try:
        model = _from_dict(data)
    except (_Damaged, KeyframeError) as error:
        raise fail(path, f"damaged movement model ({_first_line(error)})") from None
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError, OverflowError) as error:
        raise fail(path, f"damaged movement model ({type(error).__name__}: {_first_line(error)})") from None
    return model


def _corrupt_entry(path: Path) -> str | None:
    """What is wrong with the archive at ``path`` when an entry's bytes no longer match its CRC-32 checksum;
    None when every entry does.

    ``torch.load`` does not check them: bytes changed inside a tensor unpickle as other weights, and the model
    would score every video wrong without a word. Reading the archive once more costs little (models are small).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            for entry in archive.infolist():
                # A checksum of 0 is what torch.save writes with compute_crc32 off: nothing to check against.
                if entry.CRC == 0:
                    continue
                try:
                    with archive.open(entry) as data:
                        while data.read(1 << 20):
                            pass
                except zipfile.BadZipFile:
                    # Entries lie under the folder torch.save names after the file it wrote: the part inside says where.
                    return f"part {entry.filename.split('/', 1)[-1]} does not match its checksum"
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as error:
        return f"unreadable archive: {_first_line(error) or type(error).__name__}"
    return None


class _Damaged(ValueError):
    """A field of a model archive that reads but holds what no learned model can (see :func:`_check`)."""


def _first_line(error: Exception) -> str:
    """``error``'s message on one line, cut to 160 characters."""
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())[:160]


def _upgrade(data: dict) -> dict:
    """An archive of an earlier version in the current layout.

    Before version 5 each predictor's numbers were fields of their own, now one record per predictor;
    before version 6 ``pose`` features were image-plane landmarks, now the default is the body frame;
    before version 7 the scores of several feature kinds were averaged, now their minimum is the default;
    before version 9 every frame of a clip was cut to one crop, now to the motion within 5 s of it.
    """
    version = data.get("version", VERSION)
    if version < 6:
        data = {**data, "features": {**data["features"], "pose_frame": "image"}}
    if version < 7:
        data = {**data, "fusion": "mean"}
    if version < 9:
        data = {**data, "features": {**data["features"], "crop_seconds": None}}
    if version >= 5:
        return data

    def record(fields: dict, mean: float, spread: float) -> dict:
        refs = [fields["ref_mse"], fields["ref_dssim"], fields["ref_still"]]
        return {"state": fields["state"], "refs": refs, "mean": mean, "spread": spread, "source": fields.get("source", "")}

    mean, spread = data.get("impostor", [0.0, 1.0])
    cohort = [record(member, member["mean"], member["spread"]) for member in data.get("cohort", [])]
    return {**data, "own": record(data, mean, spread), "cohort": cohort}


def _from_dict(data: dict, partner: bool = False) -> MovementModel:
    """A model (and its partners) from :meth:`MovementModel.to_dict`'s output, every network built and every
    number detection uses checked (see :func:`_check`); ``partner``: a part of another model, whose threshold
    is not used (learning leaves it NaN)."""
    data = _upgrade(data)
    features = data["features"]
    if not isinstance(features, dict):
        raise _Damaged(f"feature settings of type {type(features).__name__}")
    if features.get("kind", "pixels") not in KINDS:
        raise _Damaged(f"unknown feature kind {features.get('kind')!r}")
    if features.get("pose_frame", "body") not in POSE_FRAMES:
        raise _Damaged(f"unknown pose frame {features.get('pose_frame')!r}")
    model = MovementModel(
        features=FeatureConfig(**features),
        window=WindowConfig(**data["window"]),
        net=NetConfig.from_dict(data["net"]),
        dim=int(data["dim"]),
        image_shape=tuple(data["image_shape"]) if data["image_shape"] else None,
        own=ScoredPredictor.from_dict(data["own"]),
        threshold=float(data["threshold"]),
        motion_weight=float(data["motion_weight"]),
        cohort=[ScoredPredictor.from_dict(member) for member in data.get("cohort", [])],
        partners=[_from_dict(partner, partner=True) for partner in data.get("partners", [])],
        weights=[float(w) for w in data.get("weights", [])],
        fusion=data.get("fusion", "min"),
        calibration=data.get("calibration", {}),
        info=data.get("info", {}),
    )
    if model.fusion not in FUSIONS:
        raise ValueError(f"unknown fusion {model.fusion!r}")
    if len(model.weights) != (len(model.partners) + 1 if model.partners else 0):
        raise ValueError(f"{len(model.weights)} weights for {len(model.partners)} partners")
    _check(model, partner)
    if model.image_shape is not None:
        model.image_shape = tuple(int(side) for side in model.image_shape)  # plain ints, whatever the archive held
    for scored in (model.own, *model.cohort):
        _check_weights(scored.predictor(model.dim, model.net))
    return model


def _finite(name: str, value: float, minimum: float | None = None, above: bool = False) -> None:
    """Raise :class:`_Damaged` unless ``value`` is finite (and ``>= minimum``, or ``> minimum`` with ``above``)."""
    if not math.isfinite(value) or (minimum is not None and (value <= minimum if above else value < minimum)):
        bound = "" if minimum is None else f" {'>' if above else '>='} {minimum:g}"
        raise _Damaged(f"{name} {value!r} where a finite number{bound} was expected")


def _check(model: MovementModel, partner: bool) -> None:
    """Refuse settings and numbers that construct fine but would break detection, or quietly turn its
    scores or verdict into NaN: what a learned model of its feature kind cannot hold."""
    features = model.features
    for name in ("size", "cnn_size", "batch"):
        value = getattr(features, name)
        if not is_whole(value) or value < 1:
            raise _Damaged(f"feature {name} {value!r} where a positive whole number was expected")
    if features.kind == "cnn":
        from keyframe.nets import available_backbones

        if features.backbone not in available_backbones():
            raise _Damaged(f"unknown backbone {features.backbone!r}")
    # What FeatureExtractor gives for these settings (a cnn's length is its backbone's, known once it is built).
    expected_dim = {"pixels": features.size**2, "cnn": None}.get(features.kind, POSE_POINTS * 3)
    if model.dim < 1 or (expected_dim is not None and model.dim != expected_dim):
        raise _Damaged(f"{model.dim} values per frame for {features.kind} features"
                       + (f" of size {features.size}" if features.kind == "pixels" else ""))
    expected_shape = (1, features.size, features.size) if features.kind == "pixels" else None
    if model.image_shape != expected_shape:
        shape = list(model.image_shape) if model.image_shape is not None else None
        raise _Damaged(f"image shape {shape} for {features.kind} features of {model.dim} values per frame"
                       + (f" (expected {list(expected_shape)})" if expected_shape else " (expected none)"))
    for name in ("length", "stride"):
        if not is_whole(getattr(model.window, name)):
            raise _Damaged(f"window {name} {getattr(model.window, name)!r} where a whole number was expected")
    if not partner:
        _finite("threshold", model.threshold)
    _finite("motion weight", model.motion_weight, 0.0)
    scored_parts = [("own predictor", model.own)] + [(f"cohort member {k}", m) for k, m in enumerate(model.cohort, 1)]
    for label, scored in scored_parts:
        for ref_name, ref in zip(("MSE", "SSIM", "persistence"), scored.refs):
            _finite(f"{label}'s reference {ref_name} error", ref, 0.0)
        _finite(f"{label}'s impostor mean", scored.mean)
        _finite(f"{label}'s impostor spread", scored.spread, 0.0, above=True)
    for weight in model.weights:
        _finite("fusion weight", weight, 0.0)
    if not isinstance(model.calibration, dict) or not isinstance(model.info, dict):
        raise _Damaged("calibration or info that is not a record")
    for part in model.partners:
        if part.partners or part.weights:
            raise _Damaged("a partner model with partners of its own")
        if part.window.length != model.window.length:
            raise _Damaged(f"a {part.features.kind} partner with windows of {part.window.length} frames "
                           f"where the model's are {model.window.length}")


def _check_weights(net: Predictor) -> None:
    """Refuse a predictor with non-finite weights or a feature scale that is not positive (NaN scores)."""
    for name, tensor in net.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise _Damaged(f"non-finite predictor weights ({name})")
    if not bool((net.scale > 0).all()):
        raise _Damaged("a predictor feature scale that is not positive")
