"""The next-frame predictor: a temporal convolution whose weights are shared across time.

Every frame's feature vector is standardised and encoded by the same linear
layer; a stack of causal, dilated 1-D convolutions (residual, with layer
normalisation and dropout) mixes each step with the ones before it; a shared
linear decoder predicts the change to the next frame. One window of ``L``
frames therefore gives ``L`` predictions, ``x_{t+1}`` from ``x_1 .. x_t``,
trained together with the seed's multi-output loss (the mean over all outputs).

By default the decoder draws the next frame from the encoding alone (no
skip connection from the current frame), so the model can only draw frames
of the movement it learned: the seed's "if the loss < threshold, class 1".
A window's score is ``log(reference / error)``, the reference being the
model's median error on the held-out windows of its training clip; for pixel
features the same is done with SSIM's dissimilarity ``(1 - SSIM) / 2`` and
the two are averaged (see :func:`match`). The error of *persistence*
(predicting that nothing changes) is computed alongside, for diagnostics.

Examples
--------
>>> import torch
>>> net = Predictor(dim=16, config=NetConfig(hidden=8, layers=1))
>>> net(torch.zeros(2, 9, 16)).shape
torch.Size([2, 9, 16])
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from keyframe.errors import KeyframeError, check_count, check_number, check_seed
from keyframe.nets.threads import torch_threads
from keyframe.metrics import ssim_torch
from keyframe.progress import report

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NetConfig:
    """Hyper-parameters of the predictor and its training (the Optuna search space's centre).

    Attributes
    ----------
    hidden : width of the per-frame encoding and of the temporal convolutions.
    layers : causal convolution blocks (dilations 1, 2, 4, ...).
    kernel : temporal kernel size.
    dropout : dropout after the encoder and inside each block.
    lr, weight_decay : AdamW settings.
    epochs, patience : training length and early stopping on the held-out windows' loss.
    min_epochs : epochs trained before early stopping may end training (the first epochs' held-out
        loss is noisy on a short clip, and stopping there leaves the model next to persistence).
    batch : windows per step.
    speeds : time-warp factors the training clip is replayed at (augmentation for tempo).
    shift : for image features, random translation of a window by up to this fraction of its side.
    stretch : for image features, random horizontal squeeze or widening of a window by up to this fraction.
    noise : standard deviation of the input noise, in standardised units. Half a unit makes the predictor
        draw the movement from a blurred view of its frames, so another performer's version of the same
        movement (other postures, other sizes) still gets the movement's frames back.
    residual : predict the change from the current frame (else the next frame itself, from the
        encoding alone, so the model can only draw frames of the movement it knows).
    seed : makes training deterministic.
    """

    hidden: int = 96
    layers: int = 2
    kernel: int = 3
    dropout: float = 0.1
    lr: float = 3e-3
    weight_decay: float = 1e-4
    epochs: int = 120
    patience: int = 15
    min_epochs: int = 20
    batch: int = 32
    speeds: tuple[float, ...] = (0.8, 1.0, 1.25)
    shift: float = 0.06
    stretch: float = 0.0
    noise: float = 0.5
    residual: bool = False
    seed: int = 0

    def __post_init__(self):
        for name in ("hidden", "layers", "kernel", "epochs", "patience", "batch"):
            check_count(f"NetConfig.{name}", getattr(self, name))
        check_count("NetConfig.min_epochs", self.min_epochs, minimum=0)
        check_number("NetConfig.lr", self.lr)
        for name in ("weight_decay", "shift", "stretch", "noise"):
            check_number(f"NetConfig.{name}", getattr(self, name), inclusive=True)
        if not 0 <= self.dropout < 1:
            raise KeyframeError(f"NetConfig.dropout must be in [0, 1), got {self.dropout}")
        if not self.speeds or not all(math.isfinite(speed) and speed > 0 for speed in self.speeds):
            raise KeyframeError(f"NetConfig.speeds must be positive numbers, got {self.speeds}")
        check_seed(self.seed)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["speeds"] = list(self.speeds)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "NetConfig":
        data = dict(data)
        data["speeds"] = tuple(data.get("speeds", cls.speeds))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Choice:
    """A categorical dimension of the hyper-parameter search."""

    values: tuple

    def suggest(self, trial, name: str):
        return trial.suggest_categorical(name, list(self.values))

    def __contains__(self, value) -> bool:
        return value in self.values


@dataclass(frozen=True)
class Span:
    """A numeric dimension of the hyper-parameter search, ``low`` to ``high`` inclusive."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def suggest(self, trial, name: str):
        if self.integer:
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def __contains__(self, value) -> bool:
        return self.low <= value <= self.high


# What ``--trials`` searches, by NetConfig field; the defaults are its first trial, so they must lie inside.
SEARCH_SPACE = {
    "hidden": Choice((32, 64, 96, 128, 192)),
    "layers": Span(1, 3, integer=True),
    "kernel": Choice((2, 3, 5)),
    "dropout": Span(0.0, 0.4),
    "lr": Span(5e-4, 1e-2, log=True),
    "weight_decay": Span(1e-6, 1e-2, log=True),
    "noise": Span(0.0, 1.0),
}
# Searched as well for image features, the only ones that are shifted.
IMAGE_SEARCH_SPACE = {"shift": Span(0.0, 0.12)}


def search_space(image_features: bool) -> dict:
    """The dimensions searched for a predictor of image (``pixels``) or other features.

    Examples
    --------
    >>> sorted(search_space(True))[-2:], 0.5 in search_space(False)["noise"]
    (['shift', 'weight_decay'], True)
    """
    return {**SEARCH_SPACE, **(IMAGE_SEARCH_SPACE if image_features else {})}


def single_thread():
    """Run torch on one thread inside the block.

    The predictor's tensors are tiny: with several threads, OpenMP's
    synchronisation costs far more than the work (100x slower on a busy
    2-core machine), so training and scoring run on one.
    """
    return torch_threads(1)


class CausalBlock(nn.Module):
    """``h + dropout(gelu(conv(norm(h))))`` with left padding only, so step ``t`` never sees ``t + 1``."""

    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.norm = nn.LayerNorm(channels)
        self.conv = nn.Conv1d(channels, channels, kernel, dilation=dilation)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # (B, L, C)
        x = self.norm(h).transpose(1, 2)
        x = self.conv(F.pad(x, (self.pad, 0))).transpose(1, 2)
        return h + self.dropout(F.gelu(x))


class Predictor(nn.Module):
    """Maps windows ``(B, L, D)`` of raw features to predictions ``(B, L, D)`` of the frames that follow.

    ``mean`` and ``scale`` standardise the features (set from the training
    clips); the output is ``x_t`` plus the predicted change.
    """

    def __init__(self, dim: int, config: NetConfig = NetConfig()):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        self.encode = nn.Linear(dim, config.hidden)
        self.encode_norm = nn.LayerNorm(config.hidden)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            CausalBlock(config.hidden, config.kernel, 2**i, config.dropout) for i in range(config.layers)
        )
        self.out_norm = nn.LayerNorm(config.hidden)
        self.residual = config.residual
        self.decode = nn.Linear(config.hidden, dim)
        nn.init.zeros_(self.decode.weight)
        nn.init.zeros_(self.decode.bias)

    @classmethod
    def from_state(cls, dim: int, config: NetConfig, state: dict) -> "Predictor":
        """A network with the weights ``state`` (a state dict), in eval mode."""
        net = cls(dim, config)
        net.load_state_dict(state)
        return net.eval()

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.scale

    def forward(self, x: torch.Tensor, noise: float = 0.0) -> torch.Tensor:
        z = self.standardise(x)
        if noise > 0:
            z = z + noise * torch.randn_like(z)
        h = self.dropout(F.gelu(self.encode_norm(self.encode(z))))
        for block in self.blocks:
            h = block(h)
        base = x if self.residual else self.mean
        return base + self.decode(self.out_norm(h)) * self.scale


def set_normalisation(net: Predictor, features: np.ndarray, per_dim: bool) -> None:
    """Standardise by the training features: per-dimension scale, or one scale for all (images)."""
    x = torch.from_numpy(np.asarray(features, np.float32))
    net.mean.copy_(x.mean(0))
    std = x.std(0)
    if per_dim:
        floor = max(float(std.median()) * 0.1, 1e-6)
        net.scale.copy_(std.clamp_min(floor))
    else:
        net.scale.fill_(max(float(x.std()), 1e-6))


def state_copy(net: nn.Module) -> dict:
    """A detached copy of ``net``'s weights, unaffected by later training."""
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def time_warp(features: np.ndarray, speed: float) -> np.ndarray:
    """The clip replayed ``speed`` times faster, by linear interpolation between frames.

    Examples
    --------
    >>> time_warp(np.arange(5, dtype=np.float32)[:, None], 2.0)[:, 0].tolist()
    [0.0, 2.0, 4.0]
    """
    if speed == 1.0 or len(features) < 2:
        return features
    times = np.arange(0, len(features) - 1 + 1e-6, speed)
    low = np.floor(times).astype(int).clip(0, len(features) - 1)
    high = np.minimum(low + 1, len(features) - 1)
    weight = (times - low)[:, None].astype(np.float32)
    return features[low] * (1 - weight) + features[high] * weight


def shift_windows(x: torch.Tensor, y: torch.Tensor, image_shape, amount: float, generator: torch.Generator,
                  stretch: float = 0.0):
    """Translate and rescale every window (inputs and targets alike) by a random small amount.

    ``stretch`` also squeezes or widens it horizontally by up to that fraction, as
    turning the camera a little around the performer does.
    """
    batch, length, _ = x.shape
    channels, height, width = image_shape
    t = (torch.rand(batch, 2, generator=generator) * 2 - 1) * amount * 2
    s = 1 + (torch.rand(batch, generator=generator) * 2 - 1) * amount
    sx = 1 + (torch.rand(batch, generator=generator) * 2 - 1) * stretch
    theta = torch.zeros(batch, 2, 3)
    theta[:, 0, 0] = s * sx
    theta[:, 1, 1] = s
    theta[:, :, 2] = t
    grid = F.affine_grid(theta, (batch, channels, height, width), align_corners=False)

    def warp(v):
        images = v.reshape(batch, length * channels, height, width)
        out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return out.reshape(batch, length, -1)

    return warp(x), warp(y)


@dataclass
class TrainResult:
    """A trained predictor with its held-out loss and how long it trained."""

    net: Predictor
    val_loss: float
    epochs: int
    history: list[float] = field(default_factory=list)


def train_predictor(*args, **kwargs) -> "TrainResult":
    """Fit a :class:`Predictor`; see :func:`_train_predictor` (runs on one torch thread)."""
    with single_thread():
        return _train_predictor(*args, **kwargs)


def _train_predictor(
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    normalise_on: np.ndarray,
    config: NetConfig,
    image_shape=None,
    progress=None,
    note: str = "",
) -> TrainResult:
    """Fit a :class:`Predictor` on training windows, stopping early on the held-out windows' loss.

    Parameters
    ----------
    train, val : ``(inputs, targets)`` window arrays ``(M, L, D)``.
    normalise_on : ``(N, D)`` training features that set the standardisation.
    config : hyper-parameters.
    image_shape : ``(C, H, W)`` when the features are images (enables the shift augmentation).
    """
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    dim = train[0].shape[-1]
    net = Predictor(dim, config)
    set_normalisation(net, normalise_on, per_dim=image_shape is None)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    x_train, y_train = (torch.from_numpy(np.ascontiguousarray(a, np.float32)) for a in train)
    x_val, y_val = (torch.from_numpy(np.ascontiguousarray(a, np.float32)) for a in val)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    best, best_state, best_epoch, history = math.inf, None, 0, []
    for epoch in range(config.epochs):
        net.train()
        order = torch.randperm(len(x_train), generator=generator)
        for first in range(0, len(order), config.batch):
            index = order[first : first + config.batch]
            x, y = x_train[index], y_train[index]
            if image_shape is not None and config.shift > 0:
                x, y = shift_windows(x, y, image_shape, config.shift, generator, config.stretch)
            loss = window_loss(net, x, y, noise=config.noise)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        scheduler.step()
        net.eval()
        with torch.inference_mode():
            val_loss = float(window_loss(net, x_val, y_val))
        history.append(val_loss)
        if val_loss < best - 1e-6 or epoch < config.min_epochs:
            best, best_epoch = val_loss, epoch
            best_state = state_copy(net)
        report(progress, epoch + 1, config.epochs, note)
        if epoch >= config.min_epochs and epoch - best_epoch >= config.patience:
            report(progress, config.epochs, config.epochs, note)  # stopped early: this stage is done, not stuck
            break
    net.load_state_dict(best_state)
    net.eval()
    log.info("trained %d epochs, best held-out loss %.4g at epoch %d", len(history), best, best_epoch + 1)
    return TrainResult(net, best, best_epoch + 1, history)


def window_loss(net: Predictor, x: torch.Tensor, y: torch.Tensor, noise: float = 0.0) -> torch.Tensor:
    """The multi-output loss: squared error of every step's prediction, standardised, averaged over steps."""
    prediction = net(x, noise=noise)
    return ((net.standardise(prediction) - net.standardise(y)) ** 2).mean()


@dataclass(frozen=True)
class Errors:
    """Per-window prediction errors of the model and of persistence (``(M,)`` each; SSIM ones may be None)."""

    model_mse: np.ndarray
    still_mse: np.ndarray
    model_dssim: np.ndarray | None = None
    still_dssim: np.ndarray | None = None


def window_errors(net: Predictor, x: np.ndarray, y: np.ndarray, image_shape=None, batch: int = 256) -> Errors:
    """Prediction errors of windows ``x`` with next frames ``y`` (``(M, L, D)`` each), in standardised units.

    A pure function of the model and the windows.
    """
    model_mse, still_mse, model_d, still_d = [], [], [], []
    with torch.inference_mode(), single_thread():
        for first in range(0, len(x), batch):
            xb = torch.from_numpy(np.ascontiguousarray(x[first : first + batch], np.float32))
            yb = torch.from_numpy(np.ascontiguousarray(y[first : first + batch], np.float32))
            prediction = net(xb)
            zy = net.standardise(yb)
            model_mse.append(((net.standardise(prediction) - zy) ** 2).mean(dim=(1, 2)))
            still_mse.append(((net.standardise(xb) - zy) ** 2).mean(dim=(1, 2)))
            if image_shape is not None:
                model_d.append(_dssim(prediction, yb, image_shape))
                still_d.append(_dssim(xb, yb, image_shape))
    cat = lambda parts: torch.cat(parts).numpy().astype(np.float64) if parts else None  # noqa: E731
    return Errors(cat(model_mse), cat(still_mse), cat(model_d), cat(still_d))


def _dssim(a: torch.Tensor, b: torch.Tensor, image_shape) -> torch.Tensor:
    """Mean structural dissimilarity ``(1 - SSIM) / 2`` over a window's steps, per window."""
    batch, length, _ = a.shape
    shape = (batch * length, *image_shape)
    value = ssim_torch(a.reshape(shape).clamp(0, 1), b.reshape(shape).clamp(0, 1))
    return ((1 - value) / 2).reshape(batch, length).mean(dim=1)


# Weight of the motion-amount penalty in :func:`match` (see there).
MOTION_WEIGHT = 0.5


def match(errors: Errors, ref_mse: float, ref_dssim: float, ref_still: float = 0.0,
          motion_weight: float = MOTION_WEIGHT) -> np.ndarray:
    """Window scores: ``log(reference / model error)``, averaged over MSE and (pixels) SSIM, less a motion penalty.

    0 means the model predicts the window as well as it predicted the held-out
    windows of its training clip; each unit below is a factor e worse. Windows
    where the model's error is tiny are capped at ``+log(20)`` so one still frame
    cannot outweigh a stretch of real evidence.

    With ``ref_still`` (persistence's median error on the held-out windows, > 0)
    the score also loses ``motion_weight * |log(persistence error / ref_still)|``:
    copying the last frame is a trivial predictor whose error measures how much
    the picture changes, so a window that moves far less (a nearly still clip,
    which any predictor draws well) or far more (running instead of bowing) than
    the learned movement is marked down (by at most ``motion_weight * log(20)``,
    the cap above, so the curve of a frozen stretch stays readable). On the BVH benchmark this lifted the
    mean ROC AUC of ``pixels`` from 0.69 to 0.75.

    Examples
    --------
    >>> e = Errors(np.array([0.1, 1.0]), np.array([1.0, 1.0]))
    >>> match(e, 0.1, 0.0).round(3).tolist()
    [0.0, -2.303]
    >>> match(e, 0.1, 0.0, ref_still=np.e).round(3).tolist()
    [-0.5, -2.803]
    """
    cap = np.log(20.0)
    scores = np.minimum(np.log((ref_mse + 1e-12) / (errors.model_mse + 1e-12)), cap)
    if errors.model_dssim is not None:
        ssim_scores = np.minimum(np.log((ref_dssim + 1e-12) / (errors.model_dssim + 1e-12)), cap)
        scores = (scores + ssim_scores) / 2
    if ref_still > 0 and motion_weight > 0:
        mismatch = np.abs(np.log((errors.still_mse + 1e-12) / (ref_still + 1e-12)))
        scores = scores - motion_weight * np.minimum(mismatch, cap)
    return scores


def predictor_scores(net: Predictor, x: np.ndarray, y: np.ndarray, refs: tuple[float, float, float], image_shape=None,
                     motion_weight: float = MOTION_WEIGHT) -> np.ndarray:
    """:func:`match` scores of ``net`` on windows ``x`` with next frames ``y``, against its reference errors ``refs``
    (held-out MSE, SSIM and persistence medians)."""
    return match(window_errors(net, x, y, image_shape=image_shape), *refs, motion_weight=motion_weight)


def with_params(config: NetConfig, params: dict) -> NetConfig:
    """``config`` with the Optuna trial's parameters substituted."""
    return replace(config, **{k: v for k, v in params.items() if k in NetConfig.__dataclass_fields__})
