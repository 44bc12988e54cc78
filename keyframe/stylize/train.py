"""Few-shot patch-based training of a :class:`~keyframe.stylize.model.Generator`, with resumable checkpoints.

Training sees only small random patches cut from the keyframe pairs (frame ->
painted frame), centred inside each keyframe's mask; a fixed iteration budget
keeps the run time predictable. A checkpoint holds everything needed to go on
(weights, optimiser and random states, iteration count) and a fingerprint of the
keyframes, network shape and training settings: a later run with the same ones resumes from it,
and one with a larger ``iterations`` continues training where the last one stopped.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from keyframe.errors import KeyframeError, check_count, check_number, check_seed, fail
from keyframe.io.atomic import write_torch
from keyframe.interrupts import held_interrupts
from keyframe.io.images import check_rgb  # importable from here too, where it was first defined
from keyframe.nets.threads import auto_threads, torch_threads
from keyframe.progress import report
from keyframe.stylize import functional as SF
from keyframe.stylize.guides import GUIDE_CHANNELS, GuideConfig
from keyframe.stylize.losses import critic_hinge_loss, generator_hinge_loss, load_perceptual, masked_l1
from keyframe.stylize.model import Generator, GeneratorConfig, PatchDiscriminator

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "keyframe-stylize/1"
DEFAULT_ITERATIONS = 1000


@dataclass(frozen=True)
class StyleConfig:
    """What a trained style model is: its network and how it sees a frame.

    Parameters
    ----------
    generator
        Network shape (its ``guide_channels`` is set from ``guides``).
    scale
        Resolution the generator runs at, as a fraction of the frame's; below 1
        the result is carried back to full resolution by guided upsampling
        (:func:`keyframe.stylize.functional.guided_upsample`).
    guides
        Feed a flow-advected Gaussian-blob guide next to the frame (temporal stability).
    guide
        How that guide is built.
    """

    generator: GeneratorConfig = GeneratorConfig()
    scale: float = 1.0
    guides: bool = False
    guide: GuideConfig = GuideConfig()

    def __post_init__(self):
        channels = GUIDE_CHANNELS if self.guides else 0
        if self.generator.guide_channels != channels:
            object.__setattr__(self, "generator", replace(self.generator, guide_channels=channels))
        if not 0 < self.scale <= 1:
            raise ValueError(f"scale must be in (0, 1], got {self.scale}")

    def to_dict(self) -> dict:
        return {"generator": self.generator.to_dict(), "scale": self.scale, "guides": self.guides, "guide": asdict(self.guide)}

    @classmethod
    def from_dict(cls, data: dict) -> StyleConfig:
        return cls(
            generator=GeneratorConfig.from_dict(data["generator"]),
            scale=float(data["scale"]),
            guides=bool(data["guides"]),
            guide=GuideConfig(**data["guide"]),
        )


# Training runs at about 10 iterations a second at the default size on a laptop core: 1,000,000 is over a day.
MAX_ITERATIONS = 1_000_000


@dataclass(frozen=True)
class TrainConfig:
    """How long and how a style model is trained.

    Parameters
    ----------
    iterations
        Optimiser steps (the budget; resuming continues up to this count).
    patch_size, batch_size
        Side of the random training patches and patches per step.
    learning_rate
        Adam step size; it decays linearly to a tenth over the last 30 % of the budget.
    grad_clip
        Largest gradient norm of a generator step (0: no clipping). Filters
        with hard black strokes (cartoon edges) give rare huge gradients that
        otherwise throw a well-trained network off late in training.
    l1_weight, perceptual_weight, adversarial_weight
        Loss weights; 0 turns a term off (the adversarial term also drops its critic).
    perceptual_maps
        How many of EfficientNet-Lite0's finest feature maps the perceptual
        loss compares (1: stride 2, 16 channels; 2: also stride 4).
    mask_dilation
        Pixels by which a keyframe's mask is grown before sampling patches, so
        the model also learns the seam that feathered compositing blends.
    seed
        Seed of initial weights and patch sampling.
    checkpoint_every
        Save a checkpoint every this many iterations (and at the end, and on Ctrl-C or SIGTERM once the
        iteration in progress is done: :func:`~keyframe.interrupts.held_interrupts`).
    checkpoint_seconds
        Also save one whenever this many seconds of training have passed since the last, so that a killed run
        loses at most that much (a resume from any checkpoint trains on exactly as the run would have).
    threads
        Torch CPU threads while training (None: :func:`auto_threads`).
    """

    iterations: int = DEFAULT_ITERATIONS
    patch_size: int = 32
    batch_size: int = 40
    learning_rate: float = 1e-3
    grad_clip: float = 1.0
    l1_weight: float = 1.0
    perceptual_weight: float = 0.05
    perceptual_maps: int = 1
    adversarial_weight: float = 0.0
    mask_dilation: int = 8
    seed: int = 0
    checkpoint_every: int = 250
    checkpoint_seconds: float = 30.0
    threads: int | None = None

    def __post_init__(self):
        for name in ("iterations", "batch_size", "checkpoint_every"):
            check_count(f"TrainConfig.{name}", getattr(self, name))
        if self.iterations > MAX_ITERATIONS:  # a slip of the keyboard would train for days, and lock the folder to it
            raise KeyframeError(f"--iterations must be at most {MAX_ITERATIONS:,} (about a day on a laptop CPU), "
                                f"got {self.iterations:,}")
        check_count("TrainConfig.patch_size", self.patch_size, minimum=8)
        check_number("TrainConfig.learning_rate", self.learning_rate)
        check_number("TrainConfig.checkpoint_seconds", self.checkpoint_seconds)
        for name in ("grad_clip", "l1_weight", "perceptual_weight", "adversarial_weight"):
            check_number(f"TrainConfig.{name}", getattr(self, name), inclusive=True)
        if self.threads is not None:  # None: auto_threads
            check_count("TrainConfig.threads", self.threads)
        check_seed(self.seed)


@dataclass
class KeyPair:
    """One keyframe: the frame, its painted version, where it applies, and its guide.

    Parameters
    ----------
    frame, painted
        uint8 RGB ``(H, W, 3)`` of the same size.
    mask
        bool ``(H, W)`` region whose painting is learned (or integer labels: nonzero is the region); None for the
        whole frame. A float mask is refused: the region is hard, so threshold a soft mask first.
    guide
        float32 ``(H, W, 3)`` guide image, at the frame's size, when the model uses guides.
    stem
        The frame's name, for messages.
    """

    frame: np.ndarray
    painted: np.ndarray
    mask: np.ndarray | None = None
    guide: np.ndarray | None = None
    stem: str = ""


@dataclass
class TrainStats:
    """What a training run did."""

    iterations: int
    resumed_from: int
    seconds: float
    loss: float
    losses: list[float] = field(default_factory=list)


class StyleModel:
    """A trained generator and the way it is applied to a frame.

    Examples
    --------
    >>> model = StyleModel(StyleConfig(generator=GeneratorConfig(widths=(8, 16), res_blocks=1)))
    >>> model.apply(np.zeros((30, 40, 3), np.uint8)).shape  # untrained: returns the frame
    (30, 40, 3)
    """

    def __init__(self, config: StyleConfig = StyleConfig(), generator: Generator | None = None, iteration: int = 0):
        self.config = config
        # Channels-last weights and inputs: oneDNN's fastest CPU convolution layout (about 1.5-2x at 854x480).
        self.generator = (generator or Generator(config.generator)).eval().to(memory_format=torch.channels_last)
        self.iteration = iteration

    @property
    def alignment(self) -> int:
        """Crops of a frame that start at multiples of this many pixels are drawn as in the whole frame (the
        network's stride at the frame's scale)."""
        return math.ceil(self.config.generator.stride / self.config.scale)

    def apply(self, frame: np.ndarray, guide: np.ndarray | None = None) -> np.ndarray:
        """Stylize one uint8 RGB frame (``guide``: float32 ``(H, W, 3)`` at frame size, if and only if the model
        uses guides)."""
        return SF.to_image(self.apply_tensor(SF.to_tensor(check_rgb(frame, "frame")), guide))

    @torch.inference_mode()
    def apply_tensor(self, frame: torch.Tensor, guide: np.ndarray | None = None) -> torch.Tensor:
        """Stylize a float ``(1, 3, H, W)`` frame in [0, 1]; returns ``(1, 3, H, W)`` (not clamped)."""
        config = self.config
        _check_guide(config.guides, guide, tuple(frame.shape[-2:]), "the frame")
        height, width = frame.shape[-2:]
        low = frame
        if config.scale < 1:
            size = (max(1, round(height * config.scale)), max(1, round(width * config.scale)))
            low = torch.nn.functional.interpolate(frame, size=size, mode="area")
        x = low
        if config.guides:
            g = SF.to_tensor(SF.resize(guide, low.shape[-1] / width) if config.scale < 1 else guide)
            x = torch.cat([low, g[..., : low.shape[-2], : low.shape[-1]]], dim=1)
        padded, size = SF.pad_to_multiple(x, config.generator.stride)
        out = SF.crop_to(self.generator(padded.contiguous(memory_format=torch.channels_last)), size)
        if config.scale < 1:
            out = SF.guided_upsample(low, out, frame)
        return out

    # -- persistence ----------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike) -> StyleModel:
        """Load a model from a checkpoint written by :func:`train_style`."""
        state = read_checkpoint(path)
        config = StyleConfig.from_dict(state["style"])
        generator = Generator(config.generator)
        generator.load_state_dict(state["generator"])
        return cls(config, generator, int(state["iteration"]))


def _check_guide(uses_guides: bool, guide, size: tuple[int, int], whose: str) -> None:
    """Refuse ``whose`` guide if the model cannot use it: none for a guided model, one for a model without
    guides (it would be ignored, silently), or one of another size than the frame (cropped out of place)."""
    if uses_guides and guide is None:
        raise ValueError(f"{whose} has no guide but the model uses guides; pass its guide image")
    if not uses_guides and guide is not None:
        raise ValueError(f"{whose} has a guide but the model does not use guides (StyleConfig(guides=True) does); "
                         f"pass guide=None")
    if guide is not None:
        SF.check_shape(guide, (*size, GUIDE_CHANNELS), f"{whose}: guide")


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint file, or raise a KeyframeError that says what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise fail(path, "no such checkpoint")
    try:  # weights only: a checkpoint is data, and one from elsewhere must not run code when loaded
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise fail(path, f"not a readable checkpoint ({type(error).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise fail(path, f"not a {CHECKPOINT_FORMAT} checkpoint")
    return state


# Settings that do not change what a step computes: the budget (a larger one continues a run) and bookkeeping.
RESUMABLE_ACROSS = ("iterations", "checkpoint_every", "checkpoint_seconds", "threads")


def fingerprint(pairs: Sequence[KeyPair], style: StyleConfig, train: TrainConfig = TrainConfig()) -> str:
    """A hash of the keyframes, their masks and guides, the model shape and the training settings (all but
    :data:`RESUMABLE_ACROSS`): equal means resumable."""
    settings = {name: value for name, value in asdict(train).items() if name not in RESUMABLE_ACROSS}
    digest = hashlib.sha1(repr((style.to_dict(), sorted(settings.items()))).encode())
    for pair in pairs:
        for array in (pair.frame, pair.painted, pair.mask, pair.guide):
            if array is not None:
                array = np.asarray(array)  # the same digest for an array; a mask given as a list hashes as its array
                digest.update(str(array.shape).encode())
                digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _check_pairs(pairs: Sequence[KeyPair], style: StyleConfig) -> None:
    """Refuse, before anything reads them, keyframes that cannot be learned from: there are none, or one of them
    (:func:`_check_pair`) is not what :class:`KeyPair` describes."""
    if not pairs:
        raise ValueError("no keyframes to learn from")
    for pair in pairs:
        _check_pair(pair, style)


def _check_pair(pair: KeyPair, style: StyleConfig) -> None:
    """A ValueError naming the keyframe if its images, mask or guide are not as :class:`KeyPair` describes."""
    name = f"keyframe {pair.stem!r}"
    frame = check_rgb(pair.frame, f"{name}: the frame")
    painted = check_rgb(pair.painted, f"{name}: the painting")
    if frame.shape != painted.shape:
        raise ValueError(f"{name}: frame {frame.shape} and painting {painted.shape} differ in size")
    if pair.mask is not None:
        mask = SF.check_shape(pair.mask, frame.shape[:2], f"{name}: mask")
        # The region is hard: a soft 0.5 would be cut to 0 by dilate's uint8 (or to 1 without dilation), so refuse
        # floats rather than guess a threshold.
        if mask.dtype != bool and not np.issubdtype(mask.dtype, np.integer):
            raise ValueError(f"{name}: the mask must be boolean (or integer labels, nonzero inside), got {mask.dtype}; "
                             f"threshold a soft mask first (mask > 0.5)")
    _check_guide(style.guides, pair.guide, frame.shape[:2], name)


def _training_arrays(pairs: Sequence[KeyPair], style: StyleConfig, train: TrainConfig):
    """Pad the keyframes (checked by :func:`_check_pairs`) for patch cutting at the generator's resolution; also
    return valid patch centres."""
    inputs, targets, weights, centers = [], [], [], []
    scale = style.scale
    for pair in pairs:
        frame = SF.resize(np.asarray(pair.frame), scale).astype(np.float32) / 255.0
        painted = SF.resize(np.asarray(pair.painted), scale).astype(np.float32) / 255.0
        if pair.mask is None:
            region = np.ones(np.shape(pair.frame)[:2], bool)
        else:  # nonzero is the region: integer labels above 255 would wrap to 0 in dilate's uint8
            region = SF.dilate(np.asarray(pair.mask) != 0, train.mask_dilation)
        if scale != 1.0:
            region = SF.resize(region.astype(np.uint8), scale) > 0
        if style.guides:
            guide = SF.resize(np.asarray(pair.guide), scale)
            frame = np.concatenate([frame, guide[: frame.shape[0], : frame.shape[1]]], axis=2)
        flat = np.flatnonzero(region)
        if flat.size == 0:
            continue
        inputs.append(SF.pad_for_patches(frame, train.patch_size))
        targets.append(SF.pad_for_patches(painted, train.patch_size))
        weights.append(SF.pad_for_patches(region.astype(np.float32), train.patch_size))
        centers.append(flat)
    if not centers:
        raise ValueError("every keyframe mask is empty: nothing to learn from")
    return inputs, targets, weights, centers


_DECAY_START = 0.7  # of the iterations: the learning rate is constant before, then falls to a tenth


def _learning_rate(base: float, iteration: int, total: int) -> float:
    decay_start = _DECAY_START * total
    if iteration < decay_start:
        return base
    return base * (1.0 - 0.9 * (iteration - decay_start) / max(1.0, total - decay_start))


def shown_path(path: str | os.PathLike) -> Path:
    """``path`` as a user will find it once the run is done: inside the output folder, not its ``.partial`` stage.

    Examples
    --------
    >>> str(shown_path("styled.partial/models/style.pt"))
    'styled/models/style.pt'
    """
    path = Path(path)
    for folder in path.parents:
        if folder.name.endswith(".partial"):
            return folder.with_name(folder.name[: -len(".partial")]) / path.relative_to(folder)
    return path


def _warn_of_another_schedule(checkpoint, iteration: int, kept_total: int, total: int) -> None:
    """Warn when a run of ``kept_total`` iterations, cut short at ``iteration``, is resumed as a shorter run of
    ``total`` whose learning rate would already have been decaying: the model then differs a little from one
    trained afresh for ``total`` (a longer run trains on, as documented)."""
    if iteration < total < kept_total and iteration > _DECAY_START * total:
        log.warning("%s: resuming at iteration %d a run of %d iterations as one of %d, whose learning rate would "
                    "have decayed from iteration %d: the model differs a little from one trained afresh for %d; "
                    "write to a new output for that", shown_path(checkpoint), iteration, kept_total, total,
                    math.ceil(_DECAY_START * total), total)


def train_style(
    pairs: Sequence[KeyPair],
    style: StyleConfig = StyleConfig(),
    train: TrainConfig = TrainConfig(),
    checkpoint: str | os.PathLike | None = None,
    progress=None,
    note: str = "",
) -> tuple[StyleModel, TrainStats]:
    """Train (or resume training) a style model on keyframe pairs.

    Parameters
    ----------
    pairs
        The keyframes; one model learns all of them.
    style, train
        Model and training configuration.
    checkpoint
        File to save to every ``train.checkpoint_every`` iterations (or ``train.checkpoint_seconds``) and at the
        end.
        If it exists and was made from the same keyframes, model shape and training settings (but
        for the iteration budget), training resumes from its iteration (and does nothing when that already
        reaches ``train.iterations``); otherwise it is overwritten.
    progress
        ``progress(done, total, note)``; the note carries the running loss.
    note
        Prefix of the progress note (e.g. which segment is training).

    Returns
    -------
    model, stats

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> frame = rng.integers(0, 255, (48, 48, 3)).astype(np.uint8)
    >>> pair = KeyPair(frame, 255 - frame)
    >>> small = StyleConfig(generator=GeneratorConfig(widths=(8, 16), res_blocks=1))
    >>> model, stats = train_style([pair], small, TrainConfig(iterations=5, batch_size=4, perceptual_weight=0))
    >>> stats.iterations
    5
    """
    started = time.perf_counter()
    if train.patch_size % style.generator.stride:
        raise KeyframeError(f"TrainConfig.patch_size must be a multiple of the generator's stride "
                            f"{style.generator.stride}, got {train.patch_size}")
    _check_pairs(pairs, style)  # first: the fingerprint reads the arrays
    key = fingerprint(pairs, style, train)
    torch.manual_seed(train.seed)
    generator = Generator(style.generator)
    critic = PatchDiscriminator() if train.adversarial_weight > 0 else None
    opt_g = torch.optim.Adam(generator.parameters(), lr=train.learning_rate, betas=(0.9, 0.99))
    opt_d = torch.optim.Adam(critic.parameters(), lr=train.learning_rate, betas=(0.5, 0.99)) if critic else None
    rng = np.random.default_rng(train.seed)
    iteration, losses, running = 0, [], None

    if checkpoint is not None and Path(checkpoint).is_file():
        state = read_checkpoint(checkpoint)
        if state.get("fingerprint") != key:
            log.warning("%s: made from other keyframes or settings; training from scratch", shown_path(checkpoint))
        else:
            generator.load_state_dict(state["generator"])
            opt_g.load_state_dict(state["opt_g"])
            if critic is not None and state.get("critic") is not None:
                critic.load_state_dict(state["critic"])
                opt_d.load_state_dict(state["opt_d"])
            rng.bit_generator.state = state["numpy_rng"]
            torch.set_rng_state(state["torch_rng"])
            iteration, losses = int(state["iteration"]), list(state.get("losses", []))
            running = state.get("running")
            log.info("%s: resuming at iteration %d of %d", checkpoint, iteration, train.iterations)
            if iteration > train.iterations:
                log.warning("%s: keeping the model trained for %d iterations, more than the %d asked; to train a "
                            "shorter one, write to a new output", shown_path(checkpoint), iteration, train.iterations)
            _warn_of_another_schedule(checkpoint, iteration, int(state["train"]["iterations"]), train.iterations)
    resumed_from = iteration

    def save() -> None:
        if checkpoint is None:
            return
        state = {
            "format": CHECKPOINT_FORMAT,
            "fingerprint": key,
            "style": style.to_dict(),
            "train": asdict(train),
            "iteration": iteration,
            "generator": generator.state_dict(),
            "opt_g": opt_g.state_dict(),
            "critic": critic.state_dict() if critic else None,
            "opt_d": opt_d.state_dict() if opt_d else None,
            "numpy_rng": rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "losses": losses,
            "running": running,  # the smoothed loss, so that a resumed run reports the same losses
        }
        write_torch(checkpoint, state)

    if iteration < train.iterations:
        arrays = _training_arrays(pairs, style, train)
        perceptual = load_perceptual(train.perceptual_maps) if train.perceptual_weight > 0 else None
        generator.train()
        prefix = f"{note} " if note else ""
        saved = time.perf_counter()
        # A Ctrl-C waits for the step in progress, whose state is then saved: an interrupted run loses nothing.
        with torch_threads(auto_threads() if train.threads is None else train.threads), held_interrupts() as held:
            while iteration < train.iterations:
                lr = _learning_rate(train.learning_rate, iteration, train.iterations)
                for group in opt_g.param_groups:
                    group["lr"] = lr
                x, y, w = SF.sample_patches(*arrays, train.patch_size, train.batch_size, rng)
                fake = generator(x)
                # Outside the mask the target is the prediction itself: no pull either way.
                target = w * y + (1 - w) * fake.detach()
                loss = train.l1_weight * masked_l1(fake, y, w)
                if perceptual is not None:
                    loss = loss + train.perceptual_weight * perceptual(fake, target)
                if critic is not None:
                    loss = loss + train.adversarial_weight * generator_hinge_loss(critic(fake))
                opt_g.zero_grad(set_to_none=True)
                loss.backward()
                if train.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(generator.parameters(), train.grad_clip)
                opt_g.step()
                if critic is not None:
                    d_loss = critic_hinge_loss(critic(target), critic(fake.detach()))
                    opt_d.zero_grad(set_to_none=True)
                    d_loss.backward()
                    opt_d.step()
                iteration += 1
                value = float(loss.detach())
                running = value if running is None else 0.95 * running + 0.05 * value
                logged = iteration % 10 == 0 or iteration == train.iterations
                if logged:
                    losses.append(round(running, 5))
                due = iteration % train.checkpoint_every == 0 or time.perf_counter() - saved >= train.checkpoint_seconds
                if due and iteration < train.iterations:
                    save()
                    saved = time.perf_counter()
                if logged:  # after the checkpoint: a Ctrl-C in the progress bar finds this iteration saved
                    report(progress, iteration, train.iterations, f"{prefix}loss {running:.4f}")
                if held.requested:
                    break
        save()
        if held.requested:  # saved whole: the rerun resumes from this very step
            raise KeyboardInterrupt
        generator.eval()
    seconds = time.perf_counter() - started
    final = losses[-1] if losses else float("nan")
    log.info("trained %d iterations (from %d) in %.1f s, loss %.4f", iteration, resumed_from, seconds, final)
    return StyleModel(style, generator, iteration), TrainStats(iteration, resumed_from, seconds, final, losses)
