"""Colour GMM: one Gaussian mixture over the colours of the video, split into foreground and background.

A scikit-learn ``GaussianMixture`` is fitted to pixels sampled from the
annotated frames (Lab colour plus a low-weight position); its number of
components is chosen by BIC. Each component gets the probability that a pixel
it explains is foreground, from its overlap with the annotated masks; the soft
mask of a frame is then the posterior of the foreground components.
"""

from __future__ import annotations

import logging
import numbers
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from keyframe.errors import KeyframeError
from keyframe.io.frames import FrameSource
from keyframe.segment.base import Member, check_real, check_whole, register_member, resize_prob, work_size

log = logging.getLogger(__name__)


@dataclass
class GMMConfig:
    """Settings of :class:`GMMMember`.

    Attributes
    ----------
    max_side : frames are processed with their longer side scaled to this.
    components : candidate numbers of components; the one with the lowest BIC wins.
    samples : pixels drawn from the annotated frames, half foreground, half background.
    bic_samples : pixels used to compare the candidates (a subset, for speed).
    position_weight : weight of the (x, y) position features, each in [0, 1],
        next to the Lab channels scaled to [0, 1]; 0 = colour only.
    blur : sigma in pixels (at the work size) of a Gaussian smoothing of the
        posterior; the pixel-wise decision is noisy along colour edges.
    seed : random state of the sampling and of the mixture.
    """

    max_side: int = 200
    components: tuple[int, ...] = (4, 8, 12)
    samples: int = 8000
    bic_samples: int = 6000
    position_weight: float = 0.3
    blur: float = 1.0
    seed: int = 0

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise a :class:`~keyframe.errors.KeyframeError` naming the first setting out of range."""
        check_whole(self, "max_side", "samples", "bic_samples")
        check_whole(self, "seed", minimum=0)
        check_real(self, "position_weight", "blur")
        counts = self.components
        if isinstance(counts, (str, bytes)) or not hasattr(counts, "__len__") or not counts \
                or not all(isinstance(c, numbers.Integral) and not isinstance(c, bool) and c >= 1 for c in counts):
            raise KeyframeError(f"GMMConfig.components must be a non-empty tuple of whole numbers >= 1, got {counts!r}")


def features(rgb: np.ndarray, position_weight: float) -> np.ndarray:
    """Per-pixel features ``(H*W, 3 or 5)``: Lab in [0, 1], then weighted x and y in [0, 1]."""
    height, width = rgb.shape[:2]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32) / 255.0
    if position_weight <= 0:
        return lab
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    position = np.stack([xs.ravel() / max(width - 1, 1), ys.ravel() / max(height - 1, 1)], axis=1)
    return np.concatenate([lab, position_weight * position], axis=1)


def choose_components(data: np.ndarray, candidates: tuple[int, ...], seed: int) -> int:
    """The candidate number of components with the lowest BIC on ``data``."""
    scores = {}
    for count in candidates:
        if count > len(data) // 10:
            continue
        model = GaussianMixture(count, covariance_type="full", max_iter=50, random_state=seed, reg_covar=1e-4)
        with warnings.catch_warnings():
            # A mixture that has not fully converged still ranks fine by BIC; don't alarm the user.
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores[count] = model.fit(data).bic(data)
    if not scores:
        return min(candidates)
    best = min(scores, key=scores.get)
    log.debug("gmm: BIC %s -> %d components", {k: round(v) for k, v in scores.items()}, best)
    return best


@register_member
class GMMMember(Member):
    """Foreground posterior of a colour Gaussian mixture fitted on the annotated frames.

    Examples
    --------
    >>> member = GMMMember().fit(source, {0: mask0, 60: mask60})  # doctest: +SKIP
    >>> prob = member.predict_frame(30, source.read(30))  # doctest: +SKIP
    """

    name = "gmm"
    config_type = GMMConfig

    def __init__(self, config: GMMConfig | None = None):
        self.config = config or GMMConfig()

    def fit(self, source: FrameSource, keyframes: dict[int, np.ndarray]) -> "GMMMember":
        if not keyframes:
            raise KeyframeError("the colour GMM needs at least one annotated frame")
        config = self.config
        self.size = work_size(*source.size, config.max_side)
        rng = np.random.default_rng(config.seed)
        feats = []
        for index in sorted(keyframes):
            rgb = cv2.resize(source.read(index), (self.size[1], self.size[0]), interpolation=cv2.INTER_AREA)
            feats.append(features(rgb, config.position_weight))
        feats, labels = np.concatenate(feats), work_labels([keyframes[i] for i in sorted(keyframes)], self.size)
        prior = float(labels.mean())
        if prior in (0.0, 1.0):
            raise KeyframeError("the colour GMM needs both foreground and background in the masks it is fitted on")
        sample = balanced_sample(labels, config.samples, rng)
        data, is_fg = feats[sample], labels[sample]
        count = choose_components(data[rng.permutation(len(data))[: config.bic_samples]], config.components, config.seed)
        self.model = GaussianMixture(count, covariance_type="full", max_iter=100, random_state=config.seed, reg_covar=1e-4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(data)
        # Equal class priors: with the true (small) foreground share, a component
        # shared by figure and background always goes to the background and a
        # small figure vanishes (J = 0 on thin people); the balanced posterior is
        # a likelihood-ratio decision, which scores far better in IoU.
        self.fg_weight = component_foreground(self.model.predict_proba(data), is_fg, 0.5)
        log.debug("gmm: %d components, foreground weights %s", count, np.round(self.fg_weight, 2))
        return self

    def predict_frame(self, index: int, rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        small = cv2.resize(rgb, (self.size[1], self.size[0]), interpolation=cv2.INTER_AREA)
        posterior = mixture_posterior(self.model, features(small, self.config.position_weight)) @ self.fg_weight
        prob = posterior.reshape(self.size).astype(np.float32)
        if self.config.blur > 0:
            prob = cv2.GaussianBlur(prob, (0, 0), self.config.blur)
        return resize_prob(prob, height, width)


def work_labels(masks: list[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """The boolean ``masks`` at the work ``size``, flattened one after the other: True where a mask, resized
    bilinearly, is at least 0.5.

    A mark too small to cover half of any work pixel (a dot drawn on a large frame), or a background that
    thin, would vanish and leave one class to learn from; then the work pixels it covers most stand for it.

    Examples
    --------
    >>> import numpy as np
    >>> dot = np.zeros((8, 8), bool); dot[3, 3] = True
    >>> work_labels([dot], (4, 4)).reshape(4, 4)[1].tolist()
    [False, True, False, False]
    """
    labels = np.concatenate([resize_prob(np.asarray(m, np.float32), *size).ravel() >= 0.5 for m in masks])
    if labels.any() and not labels.all():
        return labels
    cover = np.concatenate([cv2.resize(np.asarray(m, np.float32), (size[1], size[0]), interpolation=cv2.INTER_AREA).ravel()
                            for m in masks])
    margin = 1e-3  # the area average of whole pixels is not exact in float32
    if not labels.any() and cover.max() > margin:
        return cover >= cover.max() - margin
    if labels.all() and cover.min() < 1 - margin:
        return cover > cover.min() + margin
    return labels


def mixture_posterior(model: GaussianMixture, data: np.ndarray) -> np.ndarray:
    """``model.predict_proba(data)`` for a full-covariance mixture, in float32 and all components at once.

    scikit-learn loops over the components in float64; one matrix product with
    the stacked Cholesky factors of the precisions is several times faster.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.mixture import GaussianMixture
    >>> x = np.random.default_rng(0).normal(size=(500, 3))
    >>> gm = GaussianMixture(3, random_state=0).fit(x)
    >>> bool(np.allclose(mixture_posterior(gm, x), gm.predict_proba(x), atol=1e-4))
    True
    """
    chol = model.precisions_cholesky_.astype(np.float32)  # (k, d, d)
    count, dim = chol.shape[:2]
    stacked = chol.transpose(1, 0, 2).reshape(dim, count * dim)
    shift = np.einsum("kd,kde->ke", model.means_.astype(np.float32), chol)
    projected = (data.astype(np.float32) @ stacked).reshape(len(data), count, dim) - shift
    log_det = np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    log_prob = -0.5 * np.einsum("nkd,nkd->nk", projected, projected) + log_det + np.log(model.weights_).astype(np.float32)
    log_prob -= log_prob.max(axis=1, keepdims=True)
    prob = np.exp(log_prob)
    return prob / prob.sum(axis=1, keepdims=True)


def balanced_sample(labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of up to ``count`` pixels, half from each class (all of a class if it has fewer)."""
    chosen = []
    for value in (True, False):
        pool = np.flatnonzero(labels == value)
        chosen.append(rng.choice(pool, min(len(pool), count // 2), replace=False))
    return np.concatenate(chosen)


def component_foreground(resp: np.ndarray, is_fg: np.ndarray, prior: float) -> np.ndarray:
    """P(foreground | component) from responsibilities on a class-balanced sample.

    The balanced sample over-represents the foreground, so the class-wise mean
    responsibilities are re-weighted with the true foreground share ``prior``.

    Examples
    --------
    >>> import numpy as np
    >>> resp = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> component_foreground(resp, np.array([True, True, False, False]), 0.5).tolist()
    [1.0, 0.0]
    """
    fg = resp[is_fg].mean(axis=0) * prior
    bg = resp[~is_fg].mean(axis=0) * (1 - prior)
    return fg / np.maximum(fg + bg, 1e-12)
