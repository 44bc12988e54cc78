"""Each member alone: fit on the sample's annotated frames, a soft mask per frame that finds the figure."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import torch

from keyframe.errors import KeyframeError
from keyframe.nets import get_backbone
from keyframe.segment import MEMBERS
from keyframe.segment.augment import AugmentConfig
from keyframe.segment.base import resize_prob
from keyframe.io import ArrayFrames
from keyframe.segment.members.backsub import BackSubConfig
from keyframe.segment.members.cnn import CNNConfig
from keyframe.segment.members.flow import FlowConfig
from keyframe.segment.members.gmm import GMMConfig, work_labels
from keyframe.segment.members.grabcut import GrabCutConfig
from keyframe.segment.members.morphology import CleanConfig, clean_mask, fill_holes, soft_from_binary
from keyframe.segment.members.unet import UNetConfig
from tests.segment.conftest import iou

FAST = {
    "cnn": CNNConfig(steps=30, width=8, depth=3, max_side=96),
    "unet": UNetConfig(steps=30, copies=4, max_side=96),
    "gmm": GMMConfig(components=(4, 6), samples=3000, bic_samples=1500, max_side=96),
}
# Lowest acceptable mean IoU on the unannotated frames (measured well above these).
# The sample's thin figure on colourful noise is hard for colour alone.
FLOOR = {"flow": 0.7, "backsub": 0.3, "gmm": 0.15, "grabcut": 0.6, "cnn": 0.3, "unet": 0.5}


@pytest.fixture(scope="module")
def source(small_sample):
    return ArrayFrames(list(small_sample.frames))


@pytest.mark.parametrize("name", sorted(FLOOR))
def test_member_predicts_every_frame(name, source, small_sample):
    truth = small_sample.masks > 0
    keyframes = {0: truth[0], 16: truth[16]}
    cls = MEMBERS[name]
    member = (cls(FAST[name]) if name in FAST else cls()).fit(source, keyframes)
    outputs = dict(member.predict(source, 0, len(source)))
    assert sorted(outputs) == list(range(len(source)))
    for prob in outputs.values():
        assert prob.shape == truth.shape[1:] and prob.dtype == np.float32
        assert 0.0 <= prob.min() and prob.max() <= 1.0
    scores = [iou(outputs[i] > 0.5, truth[i]) for i in range(len(source)) if i not in keyframes]
    assert np.mean(scores) >= FLOOR[name], (name, np.mean(scores))


def test_predict_range_matches_full_run(source, small_sample):
    truth = small_sample.masks > 0
    member = MEMBERS["flow"]().fit(source, {0: truth[0], 20: truth[20]})
    full = dict(member.predict(source))
    part = dict(member.predict(source, 5, 9))
    assert sorted(part) == [5, 6, 7, 8]
    for i, prob in part.items():
        np.testing.assert_allclose(prob, full[i], atol=1e-6)


def test_flow_tracks_frames_smaller_than_dis_takes():
    # DIS refuses frames under 12 pixels a side (and crashes on some under 32); a 3x3 square moving right across 9x11 frames.
    ys, xs = np.mgrid[0:9, 0:11]
    squares = [(abs(ys - 4) <= 1) & (abs(xs - 3 - t) <= 1) for t in range(5)]
    frames = [np.where(square[..., None], 220, 30).astype(np.uint8).repeat(3, axis=2) for square in squares]
    source = ArrayFrames(frames)
    outputs = dict(MEMBERS["flow"]().fit(source, {0: squares[0]}).predict(source))
    assert [iou(outputs[t] > 0.5, squares[t]) for t in range(5)] == [1.0] * 5


def test_gmm_learns_a_mark_smaller_than_a_work_pixel():
    frame = np.clip(np.random.default_rng(0).normal(120, 20, (120, 160, 3)), 0, 255).astype(np.uint8)
    frame[60:62, 80:82] = (230, 20, 20)
    dot = np.zeros((120, 160), bool)
    dot[60, 80] = True  # at 96x72 it covers a third of a work pixel
    member = MEMBERS["gmm"](GMMConfig(components=(4,), samples=3000, max_side=96)).fit(ArrayFrames([frame]), {0: dot})
    prob = member.predict_frame(0, frame)
    assert prob[60, 80] == prob.max() and prob[60, 80] > 0.1 > np.median(prob)


def test_gmm_work_labels_keep_a_vanishing_mark_and_leave_others_as_they_were():
    figure = np.zeros((120, 160), bool)
    figure[30:90, 50:110] = True
    np.testing.assert_array_equal(work_labels([figure], (72, 96)), (resize_prob(figure.astype(np.float32), 72, 96) >= 0.5).ravel())
    dot = np.zeros((120, 160), bool)
    dot[60, 80] = True
    assert work_labels([dot], (72, 96)).sum() == 1 and work_labels([~dot], (72, 96)).sum() == 72 * 96 - 1
    # Spread over two masks: the first has none of it; nothing there is taken for the segment.
    labels = work_labels([np.zeros_like(dot), dot], (72, 96))
    assert not labels[: 72 * 96].any() and labels[72 * 96 :].sum() == 1


def test_grabcut_refines_a_rough_consensus(small_sample):
    truth = small_sample.masks[5] > 0
    rough = soft_from_binary(truth, 2.0)
    rough = np.clip(rough + np.random.default_rng(0).normal(0, 0.15, rough.shape), 0, 1).astype(np.float32)
    refined = MEMBERS["grabcut"]().refine(5, small_sample.frames[5], rough)
    assert iou(refined > 0.5, truth) >= iou(rough > 0.5, truth) - 0.02


def test_clean_mask_fills_holes_and_drops_specks():
    mask = np.zeros((60, 60), bool)
    mask[10:50, 10:50] = True
    mask[28:32, 28:32] = False  # a hole
    mask[2, 57] = True  # a speck
    cleaned = clean_mask(mask)
    assert cleaned[30, 30] and not cleaned[2, 57]
    assert fill_holes(mask)[30, 30]


def test_unet_fine_tunes_its_deepest_stages_and_leaves_the_shared_encoder_alone(source, small_sample):
    truth = small_sample.masks > 0
    member = MEMBERS["unet"](UNetConfig(steps=30, copies=4, max_side=96, tune_stages=1))
    member.fit(source, {0: truth[0], 16: truth[16]})
    tuned = member.net.stages[0][0].project.conv.weight.detach()
    shared = member.encoder.stages[-1][0].project.conv.weight
    pretrained = get_backbone().stages[-1][0].project.conv.weight.detach()
    assert not shared.requires_grad and not torch.equal(tuned, pretrained)
    scores = [iou(member.predict_frame(i, small_sample.frames[i]) > 0.5, truth[i]) for i in (4, 8, 12, 20)]
    assert np.mean(scores) >= FLOOR["unet"], scores
    np.testing.assert_array_equal(shared.detach(), pretrained)  # the tuned copy is the member's own


def test_fit_segmenter_trains_parameter_groups_at_their_own_rates():
    from keyframe.segment.augment import fit_segmenter

    torch.manual_seed(0)
    start = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.Conv2d(4, 1, 1))
    copy_a = lambda: __import__("copy").deepcopy(start)  # noqa: E731
    loss = lambda net, g: (net(torch.rand(2, 3, 4, 4, generator=g)) - 1).pow(2).mean()  # noqa: E731
    frozen = fit_segmenter(copy_a, loss, 5, 1e-2, 0, lambda net: [(list(net[1].parameters()), 1.0), (list(net[0].parameters()), 0.0)])
    moved = fit_segmenter(copy_a, loss, 5, 1e-2, 0)
    assert torch.equal(frozen[0].weight, start[0].weight) and not torch.equal(frozen[1].weight, start[1].weight)
    assert not torch.equal(moved[0].weight, start[0].weight)


def test_unet_refit_continues_from_the_earlier_network(source, small_sample):
    from dataclasses import replace

    truth = small_sample.masks > 0
    config = UNetConfig(steps=30, warm_steps=10, copies=4, max_side=96)
    earlier = MEMBERS["unet"](config).fit(source, {0: truth[0]})
    masks = {0: truth[0], 16: truth[16]}
    warm = MEMBERS["unet"](config).fit_from(earlier, source, masks)
    fresh = MEMBERS["unet"](replace(config, warm_steps=0)).fit_from(earlier, source, masks)  # 0: train afresh

    def distance(a, b) -> float:
        return float(sum((p - q).abs().sum() for p, q in zip(a.net.parameters(), b.net.parameters())))

    assert distance(warm, earlier) < 0.7 * distance(fresh, earlier)
    assert distance(warm, earlier) > 0  # it did train on the new masks
    scores = [iou(warm.predict_frame(i, small_sample.frames[i]) > 0.5, truth[i]) for i in (4, 8, 12, 20)]
    assert np.mean(scores) >= FLOOR["unet"], scores


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda: UNetConfig(max_side=0), "UNetConfig.max_side must be a whole number >= 1, got 0"),
        (lambda: UNetConfig(steps=0), "UNetConfig.steps must be a whole number >= 1, got 0"),
        (lambda: UNetConfig(batch=2.5), "UNetConfig.batch must be a whole number >= 1, got 2.5"),
        (lambda: UNetConfig(lr=0.0), "UNetConfig.lr must be a number > 0"),
        (lambda: CNNConfig(crop=-1), "CNNConfig.crop must be a whole number >= 1"),
        (lambda: CNNConfig(augment={"flip": 0.5}), "CNNConfig.augment must be of type AugmentConfig, got dict"),
        (lambda: GMMConfig(components=()), "GMMConfig.components must be a non-empty tuple"),
        (lambda: GMMConfig(max_side=0), "GMMConfig.max_side must be a whole number >= 1"),
        (lambda: FlowConfig(max_side=0), "FlowConfig.max_side must be a whole number >= 1"),
        (lambda: FlowConfig(preset="slow"), "FlowConfig.preset: unknown value 'slow'"),
        (lambda: GrabCutConfig(iterations=0), "GrabCutConfig.iterations must be a whole number >= 1"),
        (lambda: GrabCutConfig(sure_fg=0.4), "GrabCutConfig needs probable_bg <= probable_fg <= sure_fg"),
        (lambda: GrabCutConfig(seed_member="grabcut"), "grabcut cannot be seeded from 'grabcut'"),
        (lambda: BackSubConfig(history=0), "BackSubConfig.history must be a whole number >= 1"),
        (lambda: BackSubConfig(algorithm="mog"), "BackSubConfig.algorithm: unknown value 'mog'"),
        (lambda: BackSubConfig(clean=CleanConfig(vote=-1)), "CleanConfig.vote must be a whole number >= 0"),
        (lambda: AugmentConfig(flip=2.0), "AugmentConfig.flip must be a number <= 1"),
    ],
)
def test_member_configs_refuse_bad_sizes_and_counts(make, fragment):
    with pytest.raises(KeyframeError, match=re.escape(fragment)):
        make()


def test_every_member_declares_its_config_type():
    for name, cls in MEMBERS.items():
        assert dataclasses.is_dataclass(cls.config_type), name
        cls.config_type().check()  # the defaults pass their own checks


class CountingFrames(ArrayFrames):
    """Frames in memory that count how many have been read."""

    def __init__(self, frames):
        super().__init__(frames)
        self.read = 0

    def iter_frames(self, start=0, stop=None, step=1):
        for frame in super().iter_frames(start, stop, step):
            self.read += 1
            yield frame


@pytest.mark.parametrize("name", ["flow", "backsub"])
def test_propagating_members_read_only_the_frames_asked_for_and_stream_after_the_last_mask(small_sample, name):
    # Asked for one frame 20 frames after the only mask, flow propagated through the whole video (the held-out
    # frame of a run with masks at 0 and 100 cost a pass over every frame), and both members held every frame of
    # the run: 0.8 MB a frame at 640x360, a whole video's worth after the last mask.
    source = CountingFrames(np.concatenate([small_sample.frames] * 4))  # 96 frames
    member = MEMBERS[name](FlowConfig() if name == "flow" else BackSubConfig()).fit(source, {0: small_sample.masks[0] > 0})
    assert [index for index, _ in member.predict(source, 20, 21)] == [20]
    assert source.read == 21
    source.read = 0
    masks = member.predict(source)
    for index, _ in masks:  # one frame at a time: nothing is read ahead of the mask given out
        assert source.read == index + 1
    assert source.read == 96


def _peak_bytes(work) -> int:
    """The most memory numpy and Python held at once while ``work()`` ran."""
    import tracemalloc

    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", ["flow", "backsub"])
def test_a_long_stretch_before_a_mask_is_carried_back_holding_a_block_of_it(small_sample, name, monkeypatch):
    # A mask at the end of a video (or in its middle) held every frame before it, and every mask carried back to
    # them, at once: 0.8 MB a frame at 640x360. Now one block is held; the masks are the same.
    import importlib

    module = importlib.import_module(f"keyframe.segment.members.{name}")  # its block, read when it carries back
    source = ArrayFrames(np.concatenate([small_sample.frames] * 16))  # 384 frames
    masks = {383: small_sample.masks[-1] > 0}
    config = FlowConfig() if name == "flow" else BackSubConfig()

    def masks_of_every_frame():
        return [prob.copy() for _, prob in MEMBERS[name](config).fit(source, masks).predict(source)]

    monkeypatch.setattr(module, "BACKWARD_BLOCK", 1000)  # one block: the stretch carried back in one pass
    whole = masks_of_every_frame()
    monkeypatch.setattr(module, "BACKWARD_BLOCK", 16)
    blocks = masks_of_every_frame()
    assert len(blocks) == len(whole) == 384 and all(np.array_equal(a, b) for a, b in zip(blocks, whole))

    def stream():  # what a consumer that keeps nothing sees
        for _ in MEMBERS[name](config).fit(source, masks).predict(source):
            pass
    # In frames' worth (57.6 kB): 56 for flow, 138 for backsub (its 64-frame reading block, its model); 540-660
    # when the stretch was held.
    frame = small_sample.frames[0].nbytes
    assert _peak_bytes(stream) < 200 * frame, name
