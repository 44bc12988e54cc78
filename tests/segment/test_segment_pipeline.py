"""``keyframe.segment.segment`` and ``keyframe segment``: outputs, labels, bad input, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import list_images, open_frames, partial_dir, read_mask, write_image, write_mask
from keyframe.segment import segment
from keyframe.segment.ensemble import EnsembleConfig
from keyframe.segment.members.gmm import GMMConfig
from tests.conftest import run_cli, stop_moves_after
from tests.segment.conftest import give_masks, iou

FAST = "flow,gmm"  # the quickest members: these tests are about the pipeline, not the members
LIGHT = {"gmm": GMMConfig(components=(4,), samples=3000, max_side=96)}


def test_binary_masks_every_frame_same_values_given_unchanged(tmp_path, sample_dirs, small_sample):
    frames, truth = sample_dirs
    masks = give_masks(small_sample, tmp_path / "given", [0, 12, 23])
    out = tmp_path / "out"
    summary = segment(frames, masks, out, methods=FAST, soft=True, keep_members=True, member_options=LIGHT)
    assert summary["frames"] == 24 and summary["labels"] == [255]
    stems = [p.stem for p in list_images(frames)]
    assert [p.stem for p in list_images(out)] == stems
    scores = []
    for i, stem in enumerate(stems):
        mask = read_mask(out / f"{stem}.png")
        assert mask.shape == (120, 160) and set(np.unique(mask)) <= {0, 255}
        if i in (0, 12, 23):
            np.testing.assert_array_equal(mask, small_sample.masks[i])
        else:
            scores.append(iou(mask, small_sample.masks[i]))
    assert np.mean(scores) > 0.8
    # Every stacker weight is named: the stacked members, then the extra feature columns.
    info = summary["segments"]["255"]
    assert list(info["weights"])[: len(info["inputs"])] == info["inputs"]
    assert list(info["weights"])[len(info["inputs"]) :] == ["members_mean", "members_spread", "edge_strength", "edge_x_mean"]
    assert info["votes"] == {"flow": 0.57}  # several masks: GrabCut, were it among the members, would not vote
    assert json.loads(json.dumps(summary)) == summary
    kept = json.loads((out / "segment.json").read_text())  # kept with the masks
    assert kept["segments"] == summary["segments"] and kept["methods"] == ["flow", "gmm"]
    assert len(list_images(out / "soft")) == 24
    for name in ("flow", "gmm"):
        assert len(list_images(out / "members" / name)) == 24
    assert not partial_dir(out).exists() and not (out / ".work").exists()


def test_segment_ids_come_back_as_given(tmp_path, sample_dirs, small_sample):
    frames, _ = sample_dirs
    # Two segments: the figure's left half is 1, its right half 2.
    labelled = np.zeros_like(small_sample.masks)
    for i, mask in enumerate(small_sample.masks):
        xs = np.nonzero(mask)[1]
        middle = int(np.median(xs))
        labelled[i][:, :middle][mask[:, :middle] > 0] = 1
        labelled[i][:, middle:][mask[:, middle:] > 0] = 2
    masks = give_masks(small_sample, tmp_path / "given", [0, 12], labelled)
    out = tmp_path / "out"
    # Flow carries each segment on its own; colour alone could not tell two halves of one figure apart.
    summary = segment(frames, masks, out, methods="flow", soft=True)
    assert summary["labels"] == [1, 2]
    result = read_mask(out / f"{small_sample.stems[6]}.png")
    assert set(np.unique(result)) <= {0, 1, 2} and {1, 2} <= set(np.unique(result))
    np.testing.assert_array_equal(read_mask(out / f"{small_sample.stems[12]}.png"), labelled[12])
    assert len(list_images(out / "soft" / "1")) == 24 and len(list_images(out / "soft" / "2")) == 24


def test_a_segment_no_member_finds_again_is_warned_of_and_votes_name_members_that_ran(tmp_path, sample_dirs, small_sample,
                                                                                      caplog):
    frames, _ = sample_dirs
    given = small_sample.masks.copy()
    given[23][:10, :10] = 3  # a patch of background marked in one mask only: nothing tells it from its surroundings
    masks = give_masks(small_sample, tmp_path / "given", [0, 23], given)
    with caplog.at_level("WARNING", logger="keyframe"):
        summary = segment(frames, masks, tmp_path / "out", methods=FAST, member_options=LIGHT)
    assert summary["labels"] == [3, 255]
    assert "given: segment 3 was not found again on the held-out frames (the best member, " in caplog.text
    assert "segment 255 was not" not in caplog.text
    one = segment(frames, give_masks(small_sample, tmp_path / "one", [0]), tmp_path / "out1", methods=FAST, member_options=LIGHT)
    assert one["segments"]["255"]["votes"] == {"flow": 0.57}  # GrabCut would vote with one mask, but did not run


@pytest.mark.parametrize("case, labels", [("later", [1, 2]), ("filled", [255]), ("neither", [1, 255])])
def test_a_segment_missing_from_the_first_half_of_the_masks(tmp_path, sample_dirs, small_sample, case, labels):
    frames, _ = sample_dirs
    given = small_sample.masks.copy()
    if case == "later":  # segment 2 (the figure's upper half) is marked only in the later mask
        given[0] = np.where(given[0] > 0, 1, 0)
        upper = np.arange(120)[:, None] < np.median(np.nonzero(given[12])[0])
        given[12] = np.where(given[12] > 0, np.where(upper, 2, 1), 0)
    else:  # a close-up: the first mask is all figure (segment 255)
        given[0] = 255
    if case == "neither":  # ... which the later mask does not show: no mask shows 255 and its background
        given[12] = np.where(given[12] > 0, 1, 0)
    masks = give_masks(small_sample, tmp_path / "given", [0, 12], given)
    out = tmp_path / "out"
    summary = segment(frames, masks, out, methods="gmm", member_options=LIGHT)
    assert summary["labels"] == labels
    assert len(list_images(out)) == 24
    np.testing.assert_array_equal(read_mask(out / f"{small_sample.stems[0]}.png"), given[0])
    if case == "later":
        near = read_mask(out / f"{small_sample.stems[13]}.png")
        assert iou(near == 2, given[12] == 2) > iou(near == 2, given[12] == 1)


def test_frames_smaller_than_optical_flow_takes(tmp_path):
    frames, masks = tmp_path / "frames", tmp_path / "given"
    ys, xs = np.mgrid[0:6, 0:8]
    for t in range(4):
        square = (abs(ys - 3) <= 1) & (abs(xs - 2 - t) <= 1)
        write_image(frames / f"{t:06d}.png", np.where(square[..., None], 220, 30).astype(np.uint8).repeat(3, axis=2))
        if t == 0:
            write_mask(masks / "000000.png", square.astype(np.uint8) * 255)
    segment(frames, masks, tmp_path / "out", methods="flow")
    assert iou(read_mask(tmp_path / "out" / "000003.png"), square) == 1.0


def test_one_mask_and_a_video_input(tmp_path, sample_video, small_sample):
    masks = tmp_path / "given"
    write_mask(masks / "000000.png", small_sample.masks[0])
    out = tmp_path / "out"
    segment(sample_video, masks, out, methods="flow,gmm,grabcut", member_options=LIGHT)
    assert len(list_images(out)) == 24
    assert iou(read_mask(out / "000005.png"), small_sample.masks[5]) > 0.6


def _interrupt_before_writing(frames, masks, out, **options):
    """Run segment() and stop it once every segment is finished, before the masks are written (as Ctrl-C would);
    the staged soft masks of segment 255 are then blanked, so a run that reuses them writes empty masks."""

    def stop(done, total, note=""):
        if note == "writing masks":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        segment(frames, masks, out, progress=stop, **options)
    for path in list_images(partial_dir(out) / ".work" / "255" / "ensemble"):
        write_mask(path, np.zeros((120, 160), np.uint8))


@pytest.mark.parametrize("keep_members", [False, True])
def test_resume_reuses_a_finished_segment(tmp_path, sample_dirs, small_sample, keep_members):
    frames, _ = sample_dirs
    masks = give_masks(small_sample, tmp_path / "given", [0])
    out = tmp_path / "out"
    _interrupt_before_writing(frames, masks, out, methods="flow", keep_members=keep_members)
    summary = segment(frames, masks, out, methods="flow", keep_members=keep_members)
    assert not read_mask(out / f"{small_sample.stems[5]}.png").any()  # came from the staged (blanked) masks
    assert summary["resumed_segments"] == [255]  # and it says so
    assert not partial_dir(out).exists()


@pytest.mark.parametrize("keep_members", [False, True])
def test_a_segment_interrupted_part_way_resumes_at_its_first_missing_mask(tmp_path, sample_dirs, small_sample,
                                                                         keep_members, monkeypatch):
    # A long video's only segment was learned and masked again from the first frame after an interruption.
    from keyframe.segment.ensemble import TemporalSmoother

    frames, _ = sample_dirs
    masks = give_masks(small_sample, tmp_path / "given", [0, 23])
    options = dict(methods=FAST, member_options=LIGHT, keep_members=keep_members)
    whole = segment(frames, masks, tmp_path / "whole", **options)

    def stop(done, total, note=""):
        if note.startswith("segment 255") and done == 15:
            raise KeyboardInterrupt
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        segment(frames, masks, out, progress=stop, **options)
    staged = partial_dir(out) / ".work" / "255" / "ensemble"
    assert len(list_images(staged)) == 15

    predicted = []  # every frame the ensemble makes passes its temporal smoothing (members that lost may not run)
    push = TemporalSmoother.push
    monkeypatch.setattr(TemporalSmoother, "push", lambda self, index, grey, prob: predicted.append(index) or push(self, index, grey, prob))
    again = segment(frames, masks, out, **options)
    # Frame 14 made again to check the model, with its smoothing neighbours, then the frames from 15 on (0 and 23,
    # the given ones, are the held-out checks of training).
    assert sorted(set(predicted) - {0, 23}) == list(range(13, 23))
    assert again["segments"]["255"]["resumed_at"] == 15 and "resumed_at" not in whole["segments"]["255"]
    for folder in ([""] + (["members/flow", "members/gmm"] if keep_members else [])):
        for stem in small_sample.stems:
            np.testing.assert_array_equal(read_mask(out / folder / f"{stem}.png"), read_mask(tmp_path / "whole" / folder / f"{stem}.png"))

    # Masks kept from another model (blanked here) are not mixed with this one's: every frame is made again.
    with pytest.raises(KeyboardInterrupt):
        segment(frames, masks, tmp_path / "other", progress=stop, **options)
    for path in list_images(partial_dir(tmp_path / "other") / ".work" / "255" / "ensemble"):
        write_mask(path, np.zeros((120, 160), np.uint8))
    predicted.clear()
    redone = segment(frames, masks, tmp_path / "other", **options)
    assert "resumed_at" not in redone["segments"]["255"] and min(set(predicted) - {0, 23}) == 1
    for stem in small_sample.stems:
        np.testing.assert_array_equal(read_mask(tmp_path / "other" / f"{stem}.png"), read_mask(tmp_path / "whole" / f"{stem}.png"))


def test_the_command_line_says_where_a_segment_resumed(tmp_path, sample_dirs, small_sample):
    frames, _ = sample_dirs
    masks = give_masks(small_sample, tmp_path / "given", [0, 23])

    def stop(done, total, note=""):
        if note.startswith("segment 255") and done == 15:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        segment(frames, masks, tmp_path / "out", methods="flow,gmm", progress=stop)
    done = run_cli("segment", frames, "--masks", masks, "-o", tmp_path / "out", "--methods", "flow,gmm")
    assert done.returncode == 0, done.stderr
    assert "segment 255: resumed at frame 15, the masks before it kept from the interrupted run" in done.stdout


@pytest.mark.parametrize("damage", ["staged mask gone", "done.json empty"])
def test_resume_redoes_a_segment_whose_staged_work_is_incomplete(tmp_path, sample_dirs, small_sample, damage):
    # An interrupted clean-up of .work can remove staged masks before the segment's done.json, and a kill while
    # done.json is written leaves it empty: the rerun must redo that segment, not fail on what is missing.
    frames, _ = sample_dirs
    masks = give_masks(small_sample, tmp_path / "given", [0])
    out = tmp_path / "out"
    _interrupt_before_writing(frames, masks, out, methods="flow")
    where = partial_dir(out) / ".work" / "255"
    if damage == "staged mask gone":
        (where / "ensemble" / f"{small_sample.stems[5]}.png").unlink()
    else:
        (where / "done.json").write_text("")
    segment(frames, masks, out, methods="flow")
    assert len(list_images(out)) == len(small_sample.stems)
    assert iou(read_mask(out / f"{small_sample.stems[5]}.png"), small_sample.masks[5]) > 0.6  # redone, not blank
    assert not partial_dir(out).exists()


def test_a_run_stopped_while_its_masks_move_into_an_earlier_output_finishes_without_learning_again(
        tmp_path, sample_dirs, small_sample, monkeypatch):
    frames, _ = sample_dirs
    masks = give_masks(small_sample, tmp_path / "given", [0])
    out = tmp_path / "out"
    first = segment(frames, masks, out, methods="flow")  # an earlier result: the next publish moves file by file
    expected = {path.name: read_mask(path) for path in list_images(out)}
    for name, mask in expected.items():  # other masks than the rerun makes (the same ones would be left in place)
        write_mask(out / name, 255 - mask)
    # os.replace writes every file atomically: only the masks' moves into out count.
    stop_moves_after(5, monkeypatch, counts=lambda target: target.parent == out and target.suffix == ".png")
    with pytest.raises(KeyboardInterrupt):
        segment(frames, masks, out, methods="flow")
    monkeypatch.undo()
    assert (partial_dir(out) / ".work" / "255" / "done.json").is_file()  # kept until everything has moved
    notes = []
    again = segment(frames, masks, out, methods="flow", progress=lambda done, total, note="": notes.append(note))
    assert not any("training" in note for note in notes), notes  # finished from the kept work
    assert again["segments"]["255"]["threshold"] == first["segments"]["255"]["threshold"]
    got = {path.name: read_mask(path) for path in list_images(out)}
    assert got.keys() == expected.keys() and all(np.array_equal(got[name], expected[name]) for name in got)
    assert not partial_dir(out).exists() and not (out / ".work").exists()


@pytest.mark.parametrize("change", ["masks", "methods"])
def test_resume_redoes_work_made_from_other_masks_or_settings(tmp_path, sample_dirs, small_sample, change, caplog):
    from keyframe.segment.pipeline import kept_masks

    frames, _ = sample_dirs
    out = tmp_path / "out"
    _interrupt_before_writing(frames, give_masks(small_sample, tmp_path / "given", [0]), out, methods="flow")
    assert kept_masks(out) > 0
    masks = give_masks(small_sample, tmp_path / "other", [0, 12]) if change == "masks" else tmp_path / "given"
    with caplog.at_level("WARNING", logger="keyframe"):
        segment(frames, masks, out, methods="flow" if change == "masks" else "flow,gmm", member_options=LIGHT)
    assert "out.partial: the work an interrupted run kept there was made from other inputs or settings; starting afresh" in caplog.text
    assert iou(read_mask(out / f"{small_sample.stems[5]}.png"), small_sample.masks[5]) > 0.6 and kept_masks(out) == 0


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("size", "is 80x60 but its frame is 160x120"),
        ("stem", "has no frame of that name"),
        ("none", "contains no mask images"),
        ("empty", "all background"),
        ("full", "marks no background \\(0\\) in any mask"),
        ("unreadable", "not a readable mask image"),
    ],
)
def test_bad_masks_raise_and_write_nothing(tmp_path, sample_dirs, small_sample, case, fragment):
    frames, _ = sample_dirs
    masks = tmp_path / "given"
    masks.mkdir()
    if case != "none":
        give_masks(small_sample, masks, [0])
    if case == "size":
        write_mask(masks / f"{small_sample.stems[3]}.png", np.full((60, 80), 255, np.uint8))
    elif case == "stem":
        write_mask(masks / "nosuchframe.png", small_sample.masks[0])
    elif case == "empty":
        write_mask(masks / f"{small_sample.stems[3]}.png", np.zeros((120, 160), np.uint8))
    elif case == "unreadable":
        (masks / f"{small_sample.stems[3]}.png").write_bytes(b"not a png")
    elif case == "full":
        write_mask(masks / f"{small_sample.stems[0]}.png", np.full((120, 160), 255, np.uint8))
    out = tmp_path / "out"
    with pytest.raises(KeyframeError, match=fragment):
        segment(frames, masks, out, methods="flow")
    assert not out.exists() and not partial_dir(out).exists()


def test_unreadable_frame_and_unknown_method(tmp_path, sample_dirs, small_sample):
    frames, _ = sample_dirs
    masks = give_masks(small_sample, tmp_path / "given", [0])
    with pytest.raises(KeyframeError, match="unknown method 'magic'"):
        segment(frames, masks, tmp_path / "out", methods="flow,magic")
    broken = tmp_path / "frames"
    for i, frame in enumerate(small_sample.frames[:3]):
        write_image(broken / f"{small_sample.stems[i]}.png", frame)
    (broken / f"{small_sample.stems[2]}.png").write_bytes(b"garbage")
    with pytest.raises(KeyframeError, match="not a readable image"):
        segment(broken, masks, tmp_path / "out", methods="flow")
    assert not (tmp_path / "out").exists()


def test_cli_runs_and_reports_bad_input(tmp_path, sample_dirs, small_sample):
    frames, _ = sample_dirs
    masks = give_masks(small_sample, tmp_path / "given", [0, 12])
    out = tmp_path / "out"
    # Options may come first too.
    result = run_cli("segment", "--masks", masks, "--out", out, "--methods", "flow", "--keep-members", frames)
    assert result.returncode == 0, result.stderr
    assert "24 frames" in result.stdout
    assert len(list_images(out)) == 24 and len(list_images(out / "members" / "flow")) == 24
    assert open_frames(out).fps == open_frames(frames).fps  # recorded beside the masks, for a video of them
    write_mask(masks / "zzz.png", small_sample.masks[0])
    bad = run_cli("segment", frames, "--masks", masks, "--out", tmp_path / "out2", "--methods", "flow")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "zzz.png" in bad.stderr and "has no frame of that name" in bad.stderr
    assert "(its frames are called '" in bad.stderr
    assert not (tmp_path / "out2").exists()


def test_trials_run_an_optuna_search(tmp_path, sample_dirs, small_sample):
    frames, _ = sample_dirs
    masks = give_masks(small_sample, tmp_path / "given", [0, 12, 23])
    summary = segment(frames, masks, tmp_path / "out", methods="flow,gmm", trials=2, member_options=LIGHT)
    assert len(list_images(tmp_path / "out")) == 24
    assert "255" in summary["segments"]


def test_unet_work_size_follows_the_number_of_given_masks():
    from keyframe.segment.members.unet import UNetConfig
    from keyframe.segment.pipeline import SegmentConfig, for_annotated

    config = SegmentConfig(methods=("gmm", "unet"))
    # One mask: the UNet trains once and works at 512; several: it trains twice, at 448 (the held-out
    # fits, on fewer masks, must use the final size so the final network can continue from theirs).
    assert for_annotated(config, 1).member_options["unet"].max_side == 512
    assert for_annotated(config, 2).member_options["unet"].max_side == 448
    assert for_annotated(config, 3).member_options["unet"].max_side == 448
    assert "gmm" not in for_annotated(config, 1).member_options
    fixed = SegmentConfig(methods=("unet",), member_options={"unet": UNetConfig(max_side=256, steps=7)})
    resolved = for_annotated(fixed, 1).member_options["unet"]
    assert resolved.max_side == 256 and resolved.steps == 7


def test_an_output_folder_among_the_inputs_is_refused(tmp_path, sample_dirs, small_sample):
    frames, _ = sample_dirs
    masks = give_masks(small_sample, tmp_path / "given", [0])
    before = sorted(p.name for p in frames.iterdir())
    for out in (frames, masks, frames / "masks"):
        with pytest.raises(KeyframeError, match="give an output folder apart from the inputs"):
            segment(frames, masks, out, methods="flow")
    assert sorted(p.name for p in frames.iterdir()) == before


def test_smoothed_binary_masks_are_pointed_out(tmp_path, sample_dirs, small_sample, caplog):
    import cv2

    from keyframe.segment.pipeline import load_annotations
    from keyframe.io import open_frames

    frames, _ = sample_dirs
    smoothed = cv2.GaussianBlur(small_sample.masks[0], (3, 3), 0)
    masks = tmp_path / "given"
    write_mask(masks / f"{small_sample.stems[0]}.png", (np.round(smoothed / 51) * 51).astype(np.uint8))
    with caplog.at_level("WARNING"):
        notes = load_annotations(open_frames(frames), masks)
    assert len(notes.labels) > 1 and "lie mostly along the edge of the 255 regions" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        load_annotations(open_frames(frames), give_masks(small_sample, tmp_path / "plain", [0]))
    assert "along the edge" not in caplog.text


def test_binary_reads_soft_edged_mattes_as_one_segment(tmp_path, sample_dirs, small_sample, caplog):
    import cv2

    frames, _ = sample_dirs
    soft = [cv2.GaussianBlur(small_sample.masks[i], (5, 5), 0) for i in (0, 23)]  # over 100 grey levels
    levels = give_masks(small_sample, tmp_path / "levels", [0, 23], {i: np.round(m / 17) * 17 for i, m in zip((0, 23), soft)})
    with caplog.at_level("WARNING", logger="keyframe"):
        many = segment(frames, levels, tmp_path / "many", methods="flow")
    assert len(many["labels"]) > 10 and "pass --binary (SegmentConfig(binary=True))" in caplog.text
    masks = give_masks(small_sample, tmp_path / "given", [0, 23], {0: soft[0], 23: soft[1]})
    with pytest.raises(KeyframeError, match="save it without smoothing, or pass --binary"):
        segment(frames, masks, tmp_path / "refused", methods="flow")
    done = run_cli("segment", frames, "--masks", masks, "-o", tmp_path / "one", "--methods", "flow", "--binary")
    assert done.returncode == 0, done.stderr
    assert "1 segment(s)" in done.stdout and "along the edge" not in done.stderr
    given = read_mask(tmp_path / "one" / f"{small_sample.stems[0]}.png")
    np.testing.assert_array_equal(given, np.where(soft[0] >= 128, 255, 0))
    assert iou(read_mask(tmp_path / "one" / f"{small_sample.stems[12]}.png"), small_sample.masks[12]) > 0.8


def _warned_values(masks, frames, caplog) -> list[int] | None:
    """The values the smoothed-mask warning of ``load_annotations`` names (None without the warning)."""
    import re

    from keyframe.io import open_frames
    from keyframe.segment.pipeline import load_annotations

    caplog.clear()
    with caplog.at_level("WARNING", logger="keyframe.segment.pipeline"):
        load_annotations(open_frames(frames), masks)
    found = re.search(r"values ([\d, -]+) lie mostly along the edge", caplog.text)
    if found is None:
        return None
    runs = [[int(v) for v in run.split("-")] for run in found.group(1).split(", ")]  # "1-3, 5": runs of values
    return [value for run in runs for value in range(run[0], run[-1] + 1)]


def test_blurred_binary_mask_with_thin_parts_names_every_grey_value(tmp_path, sample_dirs, small_sample, caplog):
    """A box blur leaves no 255 near a thin part, so its grey levels are more than a few pixels from any:
    the warning must still come, naming every grey level (it named some, or none, before)."""
    import cv2

    frames, _ = sample_dirs
    mask = np.zeros((120, 160), np.uint8)
    mask[30:70, 30:70] = 255
    mask[50, 70:150] = 255  # a 1-pixel line: blurred, a band of 85 with no 255 within 3 px
    mask[80:82, 20:120] = 255  # a 2-pixel bar: blurred, 57 and 113 only
    blurred = cv2.blur(mask, (3, 3))
    write_mask(tmp_path / "given" / f"{small_sample.stems[0]}.png", blurred)
    grey = sorted(int(v) for v in np.unique(blurred) if v not in (0, 255))
    assert len(grey) == 7  # k * 255 / 9 for k = 1..7
    assert _warned_values(tmp_path / "given", frames, caplog) == grey


def test_label_maps_are_not_taken_for_smoothed_masks(tmp_path, sample_dirs, small_sample, caplog):
    """Objects given as 0/128/255 regions (touching each other, one thin) or as ids 1, 2, 3 are regions, not edges."""
    frames, _ = sample_dirs
    regions = np.zeros((120, 160), np.uint8)
    regions[20:60, 20:80] = 128
    regions[60:100, 20:80] = 255  # touches the 128 object along a whole side
    regions[20:100, 80:84] = 128  # a 4-pixel-wide object between the 255 one and the background
    regions[10:110, 120:125] = 255
    write_mask(tmp_path / "regions" / f"{small_sample.stems[0]}.png", regions)
    assert _warned_values(tmp_path / "regions", frames, caplog) is None
    ids = np.zeros((120, 160), np.uint8)
    ids[10:50, 10:60], ids[10:50, 60:110], ids[60:110, 30:90] = 1, 2, 3
    write_mask(tmp_path / "ids" / f"{small_sample.stems[0]}.png", ids)
    assert _warned_values(tmp_path / "ids", frames, caplog) is None


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"UNet": None}, "member_options: unknown member 'UNet'; choose from backsub, cnn, flow, gmm, grabcut"),
        ({"unet": {"max_side": 64}}, r"member_options\['unet'\] must be a UNetConfig \(from keyframe.segment.members.unet\), got dict"),
        ({"gmm": GMMConfig(samples=3000)}, "GMMConfig.samples must be a whole number >= 1, got 0"),  # changed after it was made
        ([("gmm", None)], "member_options must be a dict"),
    ],
)
def test_member_options_are_checked_before_anything_is_written(tmp_path, sample_dirs, small_sample, options, fragment):
    frames, _ = sample_dirs
    if isinstance(options, dict) and "gmm" in options:
        options["gmm"].samples = 0
    out = tmp_path / "out"
    with pytest.raises(KeyframeError, match=fragment):
        segment(frames, give_masks(small_sample, tmp_path / "given", [0]), out, methods="flow", member_options=options)
    assert not out.exists() and not partial_dir(out).exists()


def test_labelled_weights_name_every_column():
    from keyframe.segment.pipeline import labelled_weights

    assert labelled_weights([4.111, 0.0, 0.0, 0.0, 0.0], ["unet"]) == {
        "unet": 4.111, "members_mean": 0.0, "members_spread": 0.0, "edge_strength": 0.0, "edge_x_mean": 0.0}
    # A stacker without the image columns (tuned so) has a prefix of the names.
    assert labelled_weights([1.0, 2.0, 0.5, 0.0], ["flow", "gmm"]) == {"flow": 1.0, "gmm": 2.0, "members_mean": 0.5, "members_spread": 0.0}
    assert labelled_weights(None, ["flow"]) is None


def test_ensemble_settings_are_checked_before_any_work(tmp_path, sample_dirs, small_sample):
    frames, _ = sample_dirs
    out = tmp_path / "out"
    masks = give_masks(small_sample, tmp_path / "given", [0])
    changed = EnsembleConfig()
    changed.smooth = -1  # after it was made
    with pytest.raises(KeyframeError, match="EnsembleConfig.smooth must be a whole number >= 0, got -1"):
        segment(frames, masks, out, methods="flow", ensemble=changed)
    with pytest.raises(KeyframeError, match="SegmentConfig.ensemble must be an EnsembleConfig"):
        segment(frames, masks, out, methods="flow", ensemble={"smooth": 1})
    assert not out.exists() and not partial_dir(out).exists()


@pytest.mark.parametrize("options, fragment", [({"seed": -1}, "--seed must be from 0 to 4294967295"),
                                               ({"threads": 0}, "threads must be a whole number >= 1")])
def test_seed_and_threads_are_checked_before_any_work(tmp_path, sample_dirs, small_sample, options, fragment):
    frames, _ = sample_dirs
    out = tmp_path / "out"
    with pytest.raises(KeyframeError, match=fragment):
        segment(frames, give_masks(small_sample, tmp_path / "given", [0]), out, methods="flow", **options)
    assert not out.exists() and not partial_dir(out).exists()



def test_members_that_neither_stack_nor_vote_do_not_run_and_no_mask_changes(tmp_path, sample_dirs, small_sample, monkeypatch):
    # Background subtraction is not stacked here and no refiner needs it: it is not run over the frames, unless
    # --keep-members writes its masks. The ensemble's masks are the same.
    from keyframe.segment.members.backsub import BackSubMember

    frames, _ = sample_dirs
    masks = give_masks(small_sample, tmp_path / "given", [0, 12, 23])
    made = []
    predict = BackSubMember.predict

    def counted(self, *args, **kwargs):
        for index, prob in predict(self, *args, **kwargs):
            made.append(index)
            yield index, prob
    monkeypatch.setattr(BackSubMember, "predict", counted)
    options = dict(methods="flow,gmm,backsub", member_options=LIGHT)
    lean = segment(frames, masks, tmp_path / "lean", **options)
    assert "backsub" not in lean["segments"]["255"]["inputs"]
    in_training = len(made)
    made.clear()
    segment(frames, masks, tmp_path / "kept", keep_members=True, **options)
    assert len(made) - in_training == 24  # one more pass, over every frame
    for stem in small_sample.stems:
        np.testing.assert_array_equal(read_mask(tmp_path / "lean" / f"{stem}.png"), read_mask(tmp_path / "kept" / f"{stem}.png"))
    assert len(list_images(tmp_path / "kept" / "members" / "backsub")) == 24


@pytest.mark.parametrize("anchor, given, stacked", [
    ("gmm", [0], ["gmm"]),  # one mask: the synthetic clip cannot rank the CNN beside the anchor
    ("gmm", [0, 12, 23], ["gmm", "cnn"]),  # real held-out frames weigh every member
    ("unet", [0], ["gmm", "cnn"]),  # no anchor runs: the held-out IoU decides, as with several masks
])
def test_one_mask_stacks_only_the_always_stacked_members(tmp_path, sample_dirs, small_sample, anchor, given, stacked):
    from keyframe.segment.members.cnn import CNNConfig

    frames, _ = sample_dirs
    masks = give_masks(small_sample, tmp_path / "given", given)
    options = dict(LIGHT, cnn=CNNConfig(max_side=96, width=8, depth=2, steps=20))
    ensemble = EnsembleConfig(always_stack=(anchor,), keep_within=1.0)  # every member is near enough to stack
    summary = segment(frames, masks, tmp_path / "out", methods="gmm,cnn", member_options=options, ensemble=ensemble)
    assert summary["segments"]["255"]["inputs"] == stacked


def test_masks_follow_the_frame_edges_through_the_guided_filter(tmp_path, sample_dirs, small_sample):
    # The ensemble's soft masks are brought to the frame with the colour guided filter (guide_radius > 0):
    # closer to the truth than bilinear upsampling (guide_radius=0), and given masks are still kept as given.
    frames, _ = sample_dirs
    masks = give_masks(small_sample, tmp_path / "given", [0, 23])
    ious = {}
    for radius in (0, 4):
        out = tmp_path / f"r{radius}"
        segment(frames, masks, out, methods=FAST, member_options=LIGHT, ensemble=EnsembleConfig(guide_radius=radius))
        ious[radius] = np.mean([iou(read_mask(out / f"{stem}.png"), truth) for stem, truth in zip(small_sample.stems[1:23], small_sample.masks[1:23])])
        np.testing.assert_array_equal(read_mask(out / f"{small_sample.stems[0]}.png"), small_sample.masks[0])
    assert ious[4] > ious[0] + 0.01, ious
    with pytest.raises(KeyframeError, match="EnsembleConfig.guide_radius must be a whole number >= 0"):
        EnsembleConfig(guide_radius=-1)
    with pytest.raises(KeyframeError, match="EnsembleConfig.guide_eps"):
        EnsembleConfig(guide_eps=0.0)


@pytest.mark.parametrize("options, message", [
    ({"methods": ("bogus",)}, "--methods: unknown method 'bogus'"),
    ({"methods": ()}, "--methods: name at least one method"),
    ({"trials": -1}, "--trials must be 0 or more, got -1"),
    ({"threads": 0}, "threads must be a whole number >= 1, got 0"),
    ({"seed": -1}, "--seed must be from 0"),
    ({"soft": "yes"}, "SegmentConfig.soft must be True or False, got 'yes'"),  # it ran and wrote soft masks
])
def test_segment_config_is_checked_when_made(options, message):
    from keyframe.segment.pipeline import SegmentConfig

    with pytest.raises(KeyframeError, match=message):
        SegmentConfig(**options)
    assert SegmentConfig(methods="gmm, unet").methods == ("gmm", "unet")
