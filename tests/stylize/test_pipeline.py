import numpy as np
import pytest

from keyframe.errors import KeyframeError
from keyframe.io import open_frames, read_image, read_mask, write_image, write_mask
from keyframe.stylize import GeneratorConfig, StyleConfig, TrainConfig, composite, stylize
from keyframe.stylize import functional as SF
from keyframe.stylize.filters import cartoon
from tests.conftest import sound_in, write_video_with_sound

SMALL = StyleConfig(generator=GeneratorConfig(widths=(8, 16), res_blocks=1))
FAST = TrainConfig(iterations=20, batch_size=8, patch_size=16, perceptual_weight=0.0, learning_rate=3e-3, threads=1)
FRAMES = 8


@pytest.fixture
def clip(tmp_path, small_sample):
    """8 frames of the sample as a folder, their masks, and the middle frame's cartoon as the keyframe."""
    for stem, frame, mask in zip(small_sample.stems[:FRAMES], small_sample.frames, small_sample.masks):
        write_image(tmp_path / "frames" / f"{stem}.png", frame)
        write_mask(tmp_path / "masks" / f"{stem}.png", mask)
    stem = small_sample.stems[4]
    painted = cartoon(small_sample.frames[4])
    return tmp_path, stem, painted


def test_whole_frame_stylize_writes_every_frame_and_a_video(clip):
    root, stem, painted = clip
    write_image(root / "keys" / f"{stem}.png", painted)
    result = stylize(root / "frames", root / "keys", root / "out", style=SMALL, train=FAST, video=root / "out.mp4")
    out = open_frames(root / "out")
    assert out.stems == open_frames(root / "frames").stems and out.size == (120, 160)
    assert (root / "out" / "models" / "style.pt").is_file() and not (root / "out.partial").exists()
    assert len(open_frames(root / "out.mp4")) == FRAMES and result.video == root / "out.mp4"
    assert result.iterations == {"whole frame": 20} and result.rendered == FRAMES


def test_a_stylized_video_keeps_the_sound_of_the_clip(clip, small_sample):
    root, stem, painted = clip
    write_video_with_sound(root / "clip.mp4", small_sample.frames[:FRAMES])
    write_image(root / "keys" / "000004.png", painted)  # the clip's frames are 000000, 000001, ...
    stylize(root / "clip.mp4", root / "keys", root / "out", style=SMALL, train=FAST, video=root / "out.mp4")
    seconds, pitch, _ = sound_in(root / "out.mp4")
    assert seconds == pytest.approx(FRAMES / 25, abs=0.05) and pitch == pytest.approx(440, abs=20)
    assert len(open_frames(root / "out.mp4")) == FRAMES


def test_rerun_resumes_the_model_and_more_iterations_continue(clip):
    root, stem, painted = clip
    write_image(root / "keys" / f"{stem}.png", painted)
    first = stylize(root / "frames", root / "keys", root / "out", style=SMALL, train=FAST)
    image = read_image(root / "out" / f"{stem}.png")
    again = stylize(root / "frames", root / "keys", root / "out", style=SMALL, train=FAST)
    np.testing.assert_array_equal(read_image(root / "out" / f"{stem}.png"), image)
    assert first.resumed_from == {"whole frame": 0} and again.resumed_from == {"whole frame": 20}
    more = stylize(root / "frames", root / "keys", root / "out", iterations=30, style=SMALL, train=FAST)
    assert more.iterations == {"whole frame": 30} and more.resumed_from == {"whole frame": 20}


def test_per_segment_keyframes_train_one_model_each_and_keep_unpainted_segments(clip, small_sample):
    root, stem, painted = clip
    write_image(root / "keys" / "255" / f"{stem}.png", painted)  # only the figure is painted
    result = stylize(root / "frames", root / "keys", root / "out", masks=root / "masks", style=SMALL, train=FAST)
    assert result.segments == [255] and (root / "out" / "models" / "segment-255.pt").is_file()
    frame, mask = small_sample.frames[2], small_sample.masks[2]
    out = read_image(root / "out" / f"{small_sample.stems[2]}.png")
    far = np.ones_like(mask, bool)
    far[max(0, np.flatnonzero(mask.any(1))[0] - 8) :, :] = False  # rows well above the figure
    np.testing.assert_array_equal(out[far], frame[far])  # the background keeps the original frame
    assert np.abs(out[mask > 0].astype(int) - frame[mask > 0]).mean() > 1  # the figure changed


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda r, s, p: write_image(r / "keys" / "99999.png", p), "names no frame"),
        (lambda r, s, p: write_image(r / "keys" / f"{s}.png", p[:60]), "is 160x60 but frame"),
        (lambda r, s, p: (r / "keys").mkdir(), "contains no keyframes"),
        (lambda r, s, p: write_image(r / "keys" / "7" / f"{s}.png", p), "pass the segmentation with --masks"),
        (lambda r, s, p: write_image(r / "keys" / "fg" / f"{s}.png", p), "is not a segment id"),
        (lambda r, s, p: (write_image(r / "keys" / f"{s}.png", p), write_image(r / "keys" / "0" / f"{s}.png", p)), "mixes"),
    ],
)
def test_bad_keyframes_are_clear_errors(clip, setup, message):
    root, stem, painted = clip
    setup(root, stem, painted)
    with pytest.raises(KeyframeError, match=message):
        stylize(root / "frames", root / "keys", root / "out", style=SMALL, train=FAST)
    assert not (root / "out").exists()


def test_a_folder_beside_whole_frame_keyframes_that_is_no_segment_is_left_out(clip, caplog):
    root, stem, painted = clip
    write_image(root / "keys" / f"{stem}.png", painted)
    write_image(root / "keys" / "old" / f"{stem}.png", 255 - painted)  # an earlier version, kept aside
    result = stylize(root / "frames", root / "keys", root / "out", style=SMALL, train=FAST)
    assert result.iterations == {"whole frame": 20} and "old/ is not a segment id" in caplog.text


def test_segment_absent_from_the_mask_and_missing_masks_are_errors(clip):
    root, stem, painted = clip
    write_image(root / "keys" / "7" / f"{stem}.png", painted)
    with pytest.raises(KeyframeError, match=r"segment 7 does not occur in the mask of frame '000004' \(its values: 0, 255; "):
        stylize(root / "frames", root / "keys", root / "out", masks=root / "masks", style=SMALL, train=FAST)
    (root / "masks" / f"{stem}.png").unlink()
    with pytest.raises(KeyframeError, match="has no mask for frame '000004' .1 of 8 frames lack one; its masks are named "
                                            "like '000000'.: masks are named as their frames"):
        stylize(root / "frames", root / "keys", root / "out", masks=root / "masks", style=SMALL, train=FAST)


def test_composite_assembles_per_segment_folders(clip, small_sample):
    root, _, _ = clip
    stems = small_sample.stems[:FRAMES]
    for stem in stems:
        write_image(root / "fig" / f"{stem}.png", np.full((120, 160, 3), 250, np.uint8))
        write_image(root / "bg" / f"{stem}.png", np.full((120, 160, 3), 10, np.uint8))
    count = composite(root / "frames", {255: root / "fig", 0: root / "bg"}, root / "masks", root / "final", feather=0, video=root / "f.mp4")
    assert count == FRAMES and len(open_frames(root / "f.mp4")) == FRAMES
    out, mask = read_image(root / "final" / f"{stems[3]}.png"), small_sample.masks[3]
    assert np.all(out[mask > 0] == 250) and np.all(out[mask == 0] == 10)
    for bad in ({256: root / "bg"}, {"figure": root / "fig"}, {255: root / "fig", "255": root / "bg"}):
        with pytest.raises(KeyframeError, match="not a mask value|given twice"):
            composite(root / "frames", bad, root / "masks", root / "final3")
    (root / "bg" / f"{stems[5]}.png").unlink()
    with pytest.raises(KeyframeError, match="has no frame"):
        composite(root / "frames", {0: root / "bg"}, root / "masks", root / "final2")
    # A layer that is not there is named before every mask is read (which can take a while on a long video).
    checked = []
    with pytest.raises(KeyframeError, match="nope: no such"):
        composite(root / "frames", {0: root / "nope"}, root / "masks", root / "final2", progress=lambda *a: checked.append(a))
    assert not checked


def test_an_interrupted_composite_keeps_the_frames_it_wrote(clip, small_sample, monkeypatch):
    import keyframe.stylize.pipeline as pipeline

    root, _, _ = clip
    for stem in small_sample.stems[:FRAMES]:
        write_image(root / "fig" / f"{stem}.png", np.full((120, 160, 3), 250, np.uint8))
        write_image(root / "bg" / f"{stem}.png", np.full((120, 160, 3), 10, np.uint8))
    layers = {255: root / "fig", 0: root / "bg"}
    composite(root / "frames", layers, root / "masks", root / "straight")

    def interrupt(done, total, note):
        if note == "compositing" and done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        composite(root / "frames", layers, root / "masks", root / "final", progress=interrupt)
    written = []
    monkeypatch.setattr(pipeline, "write_image", lambda path, image: written.append(path) or write_image(path, image))
    assert composite(root / "frames", layers, root / "masks", root / "final") == FRAMES
    assert len(written) == FRAMES - 4  # it composited every frame again
    for stem in small_sample.stems[:FRAMES]:
        np.testing.assert_array_equal(read_image(root / "final" / f"{stem}.png"), read_image(root / "straight" / f"{stem}.png"))


def test_a_composite_made_from_the_same_inputs_is_kept_and_only_encoded(clip, small_sample, monkeypatch):
    # A run stopped while it encoded the video had composited every frame: the next one goes straight to the video.
    import keyframe.stylize.pipeline as pipeline

    root, _, _ = clip
    for stem in small_sample.stems[:FRAMES]:
        write_image(root / "bg" / f"{stem}.png", np.full((120, 160, 3), 10, np.uint8))
    layers = {0: root / "bg"}
    composite(root / "frames", layers, root / "masks", root / "final")
    written, encoded = [], []
    monkeypatch.setattr(pipeline, "write_image", lambda path, image: written.append(path) or write_image(path, image))
    monkeypatch.setattr(pipeline, "encode_frames", lambda out_dir, video, **options: encoded.append(video))
    notes = []
    assert composite(root / "frames", layers, root / "masks", root / "final", video=root / "final.mp4",
                     progress=lambda done, total, note: notes.append(note)) == FRAMES
    assert written == [] and encoded == [root / "final.mp4"]
    assert notes == ["every frame kept from an earlier run"]  # said, on the bar, and no mask read through
    composite(root / "frames", layers, root / "masks", root / "final", feather=2.0)  # another setting: made again
    assert len(written) == FRAMES
    (root / "final" / f"{small_sample.stems[2]}.png").unlink()  # a frame gone from the output: made again
    composite(root / "frames", layers, root / "masks", root / "final", feather=2.0)
    assert len(written) == 2 * FRAMES


def test_the_output_stays_locked_while_its_video_is_encoded(clip, small_sample, monkeypatch):
    import subprocess
    import sys

    import keyframe.stylize.pipeline as pipeline

    root, _, _ = clip
    for stem in small_sample.stems[:FRAMES]:
        write_image(root / "bg" / f"{stem}.png", np.full((120, 160, 3), 10, np.uint8))
    attempts = []

    def encode_while_another_run_tries(out_dir, video, **options):
        # Another run into the same folder, while this one makes its video of it: it was let in, and replaced the
        # frames the video was being made of.
        code = "import sys\nfrom keyframe.io.atomic import exclusive\nwith exclusive(sys.argv[1]):\n    pass"
        other = subprocess.run([sys.executable, "-c", code, str(out_dir)], capture_output=True, text=True)
        attempts.append(other)

    monkeypatch.setattr(pipeline, "encode_frames", encode_while_another_run_tries)
    composite(root / "frames", {0: root / "bg"}, root / "masks", root / "final", video=root / "final.mp4")
    assert attempts and "is being written by another keyframe run now" in attempts[0].stderr


def test_segments_stylized_in_separate_runs_composite_without_a_rim_at_the_seams(clip, small_sample, caplog):
    root, stem, painted = clip
    background = 255 - small_sample.frames[4]
    write_image(root / "both" / "255" / f"{stem}.png", painted)
    write_image(root / "both" / "0" / f"{stem}.png", background)
    write_image(root / "figure" / "255" / f"{stem}.png", painted)
    write_image(root / "rest" / "0" / f"{stem}.png", background)
    runs = {name: stylize(root / "frames", root / name, root / f"{name}-out", masks=root / "masks", style=SMALL, train=FAST)
            for name in ("both", "figure", "rest")}
    assert runs["figure"].segments == [255] and runs["rest"].segments == [0]
    layers = {255: root / "figure-out", 0: root / "rest-out"}
    composite(root / "frames", layers, root / "masks", root / "final")
    mask = small_sample.masks[3]
    seam = SF.feather(mask > 0, 4.0)
    seam = (seam > 0.05) & (seam < 0.95)
    one_run = read_image(root / "both-out" / f"{small_sample.stems[3]}.png").astype(int)
    separate = read_image(root / "final" / f"{small_sample.stems[3]}.png").astype(int)
    assert seam.sum() > 50 and np.abs(separate - one_run)[seam].max() <= 2  # as if styled in one run
    before = SF.composite_frame(small_sample.frames[3], mask, {s: read_image(f / f"{small_sample.stems[3]}.png")
                                                               for s, f in layers.items()}, 4.0).astype(int)
    assert np.abs(before - one_run)[seam].mean() > 5 * np.abs(separate - one_run)[seam].mean()  # the rim it had
    composite(root / "frames", {str(s): f for s, f in layers.items()}, root / "masks", root / "final-str")
    np.testing.assert_array_equal(read_image(root / "final-str" / f"{small_sample.stems[3]}.png"), separate)
    composite(root / "frames", {255: root / "both-out", 0: root / "both-out"}, root / "masks", root / "final-one")
    assert np.abs(read_image(root / "final-one" / f"{small_sample.stems[3]}.png") - one_run).max() <= 1  # one folder, both
    (root / "masks2").mkdir()
    for path in (root / "masks").iterdir():
        write_mask(root / "masks2" / path.name, read_mask(path))
    composite(root / "frames", layers, root / "masks2", root / "final2")  # other masks: blended as they are
    assert "stylized from other frames or masks than these" in caplog.text
    np.testing.assert_array_equal(read_image(root / "final2" / f"{small_sample.stems[3]}.png"), before)
    assert "less than this composite's" not in caplog.text
    composite(root / "frames", layers, root / "masks", root / "final8", feather=8.0)  # wider than the layers' 4 px
    assert "stylized with --feather 4, less than this composite's 8" in caplog.text
    caplog.clear()
    notes = []
    composite(root / "frames", layers, root / "masks", root / "final8", feather=8.0,  # kept: its seams are the same
              progress=lambda done, total, note: notes.append(note))
    assert notes == ["every frame kept from an earlier run"]
    assert "stylized with --feather 4, less than this composite's 8" in caplog.text
    assert "not 0:" not in caplog.text
    composite(root / "frames", {0: root / "figure-out"}, root / "masks", root / "swapped")  # 0= for 255=: a slip
    assert "--layer 0: " in caplog.text and "figure-out stylized segment(s) 255, not 0: that segment shows" in caplog.text


def test_a_layer_for_a_segment_no_mask_holds_is_refused(clip, small_sample):
    root, _, _ = clip
    for stem in small_sample.stems[:FRAMES]:
        write_image(root / "fig" / f"{stem}.png", np.full((120, 160, 3), 250, np.uint8))
        write_mask(root / "labels" / f"{stem}.png", (small_sample.masks[small_sample.stems.index(stem)] > 0).astype(np.uint8))
    # Label maps (0/1) taken for 0/255 masks: the whole video would come out unstyled.
    with pytest.raises(KeyframeError, match=r"--layer: 255: segment 255 occurs in no mask of .*labels \(its values: 0, 1\)"):
        composite(root / "frames", {255: root / "fig"}, root / "labels", root / "out")
    assert not (root / "out").exists()


def test_interrupted_rendering_resumes_without_redoing_frames(clip, monkeypatch):
    from keyframe.io.frames import FolderSource

    root, stem, painted = clip
    write_image(root / "keys" / f"{stem}.png", painted)

    def interrupt(done, total, note):
        if note == "rendering" and done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stylize(root / "frames", root / "keys", root / "out", style=SMALL, train=FAST, progress=interrupt)
    assert (root / "out.partial").is_dir() and not (root / "out").exists()  # nothing looks finished
    spans, iter_frames = [], FolderSource.iter_frames
    monkeypatch.setattr(FolderSource, "iter_frames", lambda self, start=0, stop=None, step=1: spans.append(
        (start, stop)) or iter_frames(self, start, stop, step))
    result = stylize(root / "frames", root / "keys", root / "out", style=SMALL, train=FAST)
    assert result.resumed_from == {"whole frame": 20} and result.rendered == FRAMES - 3
    assert spans[-1] == (3, FRAMES)  # the frames it had drawn are not read again (the painted one is, to train)
    assert not any(start < 3 and (stop is None or stop - start > 1) for start, stop in spans)
    assert len(open_frames(root / "out")) == FRAMES


def stop_rendering_at_the_third_frame(root):
    """A per-segment run into ``root/out`` stopped (Ctrl-C) once it has rendered three frames."""
    def interrupt(done, total, note):
        if note == "rendering" and done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stylize(root / "frames", root / "keys", root / "out", masks=root / "masks", style=SMALL, train=FAST,
                progress=interrupt)


def test_another_feather_after_an_interruption_rerenders_but_keeps_the_models(clip, small_sample):
    root, stem, painted = clip
    write_image(root / "keys" / "255" / f"{stem}.png", painted)
    stop_rendering_at_the_third_frame(root)
    result = stylize(root / "frames", root / "keys", root / "out", masks=root / "masks", style=SMALL, train=FAST, feather=0)
    assert result.resumed_from == {"segment 255": 20} and result.rendered == FRAMES
    straight = stylize(root / "frames", root / "keys", root / "straight", masks=root / "masks", style=SMALL, train=FAST,
                       feather=0)
    for name in open_frames(root / "out").stems:
        np.testing.assert_array_equal(read_image(root / "out" / f"{name}.png"), read_image(root / "straight" / f"{name}.png"))
    assert not list(root.glob("*/rendering.json")) and straight.rendered == FRAMES


def test_a_segment_dropped_after_an_interruption_leaves_no_frame_or_model_behind(clip, small_sample, caplog):
    root, stem, painted = clip
    for segment in ("255", "0"):
        write_image(root / "keys" / segment / f"{stem}.png", painted)
    stop_rendering_at_the_third_frame(root)
    (root / "keys" / "0" / f"{stem}.png").unlink()
    (root / "keys" / "0").rmdir()
    result = stylize(root / "frames", root / "keys", root / "out", masks=root / "masks", style=SMALL, train=FAST)
    assert result.resumed_from == {"segment 255": 20} and result.rendered == FRAMES
    # Said, and named where the user finds the models (not in the .partial stage, which is gone by then).
    assert f"{root / 'out' / 'models' / 'segment-0.pt'}: no keyframes are given for it now" in caplog.text
    stylize(root / "frames", root / "keys", root / "straight", masks=root / "masks", style=SMALL, train=FAST)
    for name in open_frames(root / "out").stems:
        np.testing.assert_array_equal(read_image(root / "out" / f"{name}.png"), read_image(root / "straight" / f"{name}.png"))
    assert sorted(path.name for path in (root / "out" / "models").iterdir()) == ["segment-255.pt"]


def test_frames_kept_from_an_interruption_are_redrawn_when_another_checkpoint_is_resumed(clip):
    from dataclasses import replace

    from keyframe.stylize import StyleModel

    root, stem, painted = clip
    write_image(root / "keys" / f"{stem}.png", painted)

    def stop_at(phase, step):
        def interrupt(done, total, note):
            if note.endswith(phase) and done == step:
                raise KeyboardInterrupt
        return interrupt

    args = (root / "frames", root / "keys", root / "out")
    with pytest.raises(KeyboardInterrupt):  # 3 frames drawn by the 20-iteration model
        stylize(*args, style=SMALL, train=FAST, progress=stop_at("rendering", 3))
    with pytest.raises(KeyboardInterrupt):  # trains on to 40, stopped after its checkpoint at 30
        stylize(*args, iterations=40, style=SMALL, train=replace(FAST, checkpoint_every=10),
                progress=stop_at("", 40))
    # Back to 20: the 30-iteration checkpoint is kept (more than asked), so no frame may come from the 20 one.
    result = stylize(*args, style=SMALL, train=FAST)
    assert result.iterations == {"whole frame": 30} and result.rendered == FRAMES
    model = StyleModel.load(root / "out" / "models" / "style.pt")
    for frame in open_frames(root / "frames").iter_frames():
        np.testing.assert_array_equal(read_image(root / "out" / f"{frame.stem}.png"), model.apply(frame.rgb))


def test_a_segment_box_moved_by_a_pixel_does_not_change_how_the_segment_is_drawn(small_sample):
    import torch

    from keyframe.stylize import Generator, StyleModel
    from keyframe.stylize.pipeline import stylize_frame

    torch.manual_seed(0)
    generator = Generator(SMALL.generator)  # stride 4: crops a pixel apart meet the network's grid differently
    for parameter in generator.out.parameters():
        torch.nn.init.normal_(parameter, std=0.1)
    model = StyleModel(SMALL, generator)
    frame, labels = small_sample.frames[0], small_sample.masks[0].copy()
    rows, cols = np.nonzero(labels == 255)
    inside = np.zeros(labels.shape, bool)
    inside[rows.min() + 8:rows.max() - 8, cols.min() + 8:cols.max() - 8] = True
    inside &= labels == 255
    still = stylize_frame({255: model}, frame, labels, feather=0)
    labels[rows.min() - 1, cols.min() - 1] = 255  # a speck of the segment just above and left of it
    moved = stylize_frame({255: model}, frame, labels, feather=0)
    assert inside.sum() > 100 and np.abs(still.astype(int) - frame).max() > 20  # the model draws something
    np.testing.assert_array_equal(moved[inside], still[inside])


def test_blob_guides_run_through_the_pipeline(clip):
    root, stem, painted = clip
    write_image(root / "keys" / f"{stem}.png", painted)
    style = StyleConfig(generator=GeneratorConfig(widths=(8, 16), res_blocks=1), guides=True)
    result = stylize(root / "frames", root / "keys", root / "out", style=style, train=FAST)
    assert result.rendered == FRAMES and read_image(root / "out" / f"{stem}.png").shape == (120, 160, 3)


def test_a_video_output_that_cannot_be_written_is_refused_before_any_work(clip):
    root, stem, painted = clip
    write_image(root / "keys" / f"{stem}.png", painted)
    (root / "afile").write_text("x")
    for video, message in [(root / "x.avi", "the output must be a .mp4 video"), (root / "afile" / "x.mp4", "is a file")]:
        with pytest.raises(KeyframeError, match=message):
            stylize(root / "frames", root / "keys", root / "out", style=SMALL, train=FAST, video=video)
        with pytest.raises(KeyframeError, match=message):
            composite(root / "frames", {255: root / "frames"}, root / "masks", root / "final", video=video)
    assert not (root / "out").exists() and not (root / "final").exists()
    # --out styled.mp4 meant a video: it would have been made a folder of that name.
    with pytest.raises(KeyframeError, match="styled.mp4: is named as a video, but the frames go to a folder: give --out "
                                            "a folder and --video styled.mp4"):
        stylize(root / "frames", root / "keys", root / "styled.mp4", style=SMALL, train=FAST)
    with pytest.raises(KeyframeError, match="final.mov: is named as a video"):
        composite(root / "frames", {255: root / "frames"}, root / "masks", root / "final.mov")
    assert not (root / "styled.mp4").exists() and not (root / "final.mov").exists()


def test_a_video_output_over_the_clip_the_frames_came_from_is_refused_before_any_work(clip, small_sample):
    from keyframe.io import extract_frames, write_video

    root, stem, painted = clip
    write_video(small_sample.frames[:FRAMES], root / "silent.mp4", fps=25)
    write_video_with_sound(root / "sound.mp4", small_sample.frames[:FRAMES])
    write_image(root / "keys" / "000004.png", painted)
    for clip_file in (root / "silent.mp4", root / "sound.mp4"):
        extract_frames(clip_file, root / clip_file.stem)
        before = clip_file.read_bytes()
        with pytest.raises(KeyframeError, match="is also an input"):
            stylize(root / clip_file.stem, root / "keys", root / "out", style=SMALL, train=FAST, video=clip_file)
        with pytest.raises(KeyframeError, match="is also an input"):
            composite(root / clip_file.stem, {255: root / "frames"}, root / "masks", root / "final", video=clip_file)
        assert clip_file.read_bytes() == before
    with pytest.raises(KeyframeError, match="is also an input"):
        composite(root / "frames", {255: root / "sound.mp4"}, root / "masks", root / "final", video=root / "sound.mp4")
    assert not (root / "out").exists() and not (root / "final").exists() and not (root / "out.partial").exists()


def test_a_mask_that_cannot_be_used_stops_the_run_before_any_training(clip, small_sample):
    import cv2

    root, stem, painted = clip
    write_image(root / "keys" / "255" / f"{stem}.png", painted)
    colours = np.zeros((120, 160, 3), np.uint8)
    colours[10:40], colours[60:90] = (0, 0, 255), (0, 255, 0)  # red and green objects that fold into one value
    bad = root / "masks" / f"{small_sample.stems[2]}.png"  # neither painted nor sampled for the smoothing check
    cv2.imwrite(str(bad), colours)
    with pytest.raises(KeyframeError, match=f"{bad.name}: holds 2 colours"):
        stylize(root / "frames", root / "keys", root / "out", masks=root / "masks", style=SMALL, train=FAST)
    with pytest.raises(KeyframeError, match=f"{bad.name}: holds 2 colours"):
        composite(root / "frames", {255: root / "frames"}, root / "masks", root / "final")
    assert not any(root.glob("out*")) and not any(root.glob("final*"))


def test_smoothed_masks_are_pointed_out(clip, caplog):
    import cv2

    root, stem, painted = clip
    for path in (root / "masks").iterdir():
        write_mask(path, cv2.GaussianBlur(read_mask(path), (0, 0), 2))
    composite(root / "frames", {255: root / "frames"}, root / "masks", root / "final")
    assert "lie mostly along the edge of the 255 regions" in caplog.text


class _Paint:
    """A stand-in model that paints its crop white (and records the guide it was given)."""

    alignment = 1

    def __init__(self, guides=None):
        if guides is not None:
            self.config = StyleConfig(guides=guides)
        self.guides = []

    def apply(self, frame, guide=None):
        self.guides.append(guide)
        return np.full_like(frame, 255)


def _square():
    labels = np.zeros((32, 32), np.uint8)
    labels[8:16, 8:16] = 255
    return np.zeros((32, 32, 3), np.uint8), labels


def test_stylize_frame_paints_the_segment_where_the_label_map_has_it():
    from keyframe.stylize.pipeline import stylize_frame

    frame, labels = _square()
    for key in (255, np.uint8(255)):  # a label read from a map is a numpy integer
        out = stylize_frame({key: _Paint()}, frame, labels, feather=0)
        np.testing.assert_array_equal(out[..., 0] > 0, labels == 255)


def test_stylize_frame_refuses_a_label_map_feather_or_segment_id_that_cannot_be_meant():
    from keyframe.stylize.pipeline import stylize_frame

    frame, labels = _square()
    # A 40x40 map on a 32x32 frame painted rows 12..19 instead of 8..15.
    with pytest.raises(ValueError, match=r"labels \(40, 40\) and frame \(32, 32\) differ in size"):
        stylize_frame({255: _Paint()}, frame, np.pad(labels, 4), feather=0)
    for feather, message in [(-3, ">= 0"), (1e4, "<= 100"), (float("nan"), ">= 0, got nan")]:
        with pytest.raises(KeyframeError, match=f"--feather must be a (finite )?number {message}"):
            stylize_frame({255: _Paint()}, frame, labels, feather=feather)
    for key in ("255", 255.0, True):  # matched no label, silently
        with pytest.raises(TypeError, match=f"models key {key!r} is not a segment id"):
            stylize_frame({key: _Paint()}, frame, labels)
    with pytest.raises(ValueError, match="models key 256 is not a segment id"):
        stylize_frame({256: _Paint()}, frame, labels)
    with pytest.raises(ValueError, match="frame must be a uint8 RGB image"):
        stylize_frame({255: _Paint()}, frame / 255.0, labels)


def test_stylize_frame_gives_a_guide_of_the_frame_size_only_to_models_that_use_guides():
    from keyframe.stylize.pipeline import stylize_frame

    frame, labels = _square()
    labels[20:28, 20:28] = 1
    guide = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    guided, plain = _Paint(guides=True), _Paint(guides=False)
    stylize_frame({255: guided, 1: plain}, frame, labels, guide=guide)
    assert guided.guides[0].shape[2] == 3 and plain.guides == [None]
    with pytest.raises(ValueError, match=r"guide \(16, 16, 3\) and frame \(32, 32, 3\) differ in size"):
        stylize_frame({255: guided}, frame, labels, guide=guide[:16, :16])
    with pytest.raises(ValueError, match="none of the models was trained with guides"):
        stylize_frame({255: plain}, frame, labels, guide=guide)


def test_a_partly_transparent_keyframe_is_learned_where_it_is_painted(clip, monkeypatch):
    # A paint layer exported alone: its transparent pixels are neither learned as black nor as painted.
    import cv2

    import keyframe.stylize.pipeline as pipeline

    root, stem, painted = clip
    alpha = np.zeros(painted.shape[:2], np.uint8)
    alpha[60:] = 255  # the bottom half painted, the top half left transparent (black there, as paint programs store it)
    layer = np.dstack([np.where(alpha[..., None] > 0, painted, 0).astype(np.uint8), alpha])
    (root / "keys").mkdir()
    cv2.imwrite(str(root / "keys" / f"{stem}.png"), cv2.cvtColor(layer, cv2.COLOR_RGBA2BGRA))
    seen = []

    class Stop(Exception):
        pass

    def train_style(pairs, *args, **kwargs):
        seen.extend(pairs)
        raise Stop
    monkeypatch.setattr(pipeline, "train_style", train_style)
    with pytest.raises(Stop):
        stylize(root / "frames", root / "keys", root / "out", style=SMALL, train=FAST)
    (pair,) = seen
    np.testing.assert_array_equal(pair.mask, alpha >= 128)
    np.testing.assert_array_equal(pair.painted[60:], painted[60:])
    np.testing.assert_array_equal(pair.painted[:60], pair.frame[:60])  # as the layer showed over its frame
    cv2.imwrite(str(root / "keys" / f"{stem}.png"), cv2.cvtColor(np.dstack([painted, np.zeros_like(alpha)]), cv2.COLOR_RGBA2BGRA))
    with pytest.raises(KeyframeError, match=f"{stem}.png: is transparent everywhere: nothing painted to learn from"):
        stylize(root / "frames", root / "keys", root / "out", style=SMALL, train=FAST)


def test_files_of_the_keyframe_folders_that_are_no_images_are_named(clip, caplog):
    from keyframe.io import open_frames
    from keyframe.stylize.pipeline import find_keyframes

    root, stem, painted = clip
    (root / "keys" / "255" / "old").mkdir(parents=True)
    write_image(root / "keys" / "255" / f"{stem}.png", painted)
    (root / "keys" / "255" / f"{stem}.kra").write_bytes(b"a painting program's own file")
    (root / "keys" / "notes.txt").write_text("mine")
    (root / "keys" / ".DS_Store").write_bytes(b"")
    (root / "keys" / "255" / "Thumbs.db").write_bytes(b"")
    found = find_keyframes(root / "keys", open_frames(root / "frames"))
    assert list(found.files) == [255]
    assert "keys: notes.txt left out: keyframes are images" in caplog.text
    assert f"255: {stem}.kra, old/ left out" in caplog.text and "DS_Store" not in caplog.text and "Thumbs" not in caplog.text
    (root / "only").mkdir()
    (root / "only" / f"{stem}.kra").write_bytes(b"")
    with pytest.raises(KeyframeError, match=rf"only: contains no keyframes .*; it holds {stem}.kra and no image\)"):
        find_keyframes(root / "only", open_frames(root / "frames"))


def test_binary_reads_soft_edged_mattes_as_one_segment_in_stylize_composite_and_cutout(clip, small_sample, caplog):
    import cv2

    from keyframe.segment import write_cutouts

    root, stem, painted = clip
    for path in (root / "masks").iterdir():  # mattes with a soft edge, as an editor exports them
        write_mask(root / "soft" / path.name, cv2.GaussianBlur(read_mask(path), (5, 5), 0))
    write_image(root / "keys" / "255" / f"{stem}.png", painted)
    stylize(root / "frames", root / "keys", root / "grey", masks=root / "soft", style=SMALL, train=FAST)
    assert "lie mostly along the edge" in caplog.text and "pass --binary if they mean one segment" in caplog.text
    caplog.clear()
    stylize(root / "frames", root / "keys", root / "one", masks=root / "soft", style=SMALL, train=FAST, binary=True)
    stylize(root / "frames", root / "keys", root / "hard", masks=root / "masks", style=SMALL, train=FAST)
    assert "along the edge" not in caplog.text
    name = f"{small_sample.stems[3]}.png"
    one, hard, grey = (read_image(root / folder / name).astype(int) for folder in ("one", "hard", "grey"))
    assert np.abs(one - hard).mean() < np.abs(grey - hard).mean()  # the grey edge no longer keeps the original
    composite(root / "frames", {255: root / "one"}, root / "soft", root / "final", binary=True)
    assert "along the edge" not in caplog.text and "other frames or masks" not in caplog.text  # the run's own masks
    write_cutouts(root / "frames", root / "soft", root / "cut", binary=True)
    alpha = cv2.imread(str(root / "cut" / name), cv2.IMREAD_UNCHANGED)[..., 3]
    assert set(np.unique(alpha).tolist()) == {0, 255}


def test_grow_takes_a_rim_the_masks_left_out_into_the_figure_in_stylize_composite_and_cutout(clip, small_sample, caplog):
    import cv2

    from keyframe.io import grow_segments
    from keyframe.segment import write_cutouts

    root, stem, painted = clip
    for path in (root / "masks").iterdir():  # masks drawn 3 pixels inside the figure, as around hair or fur
        write_mask(root / "tight" / path.name, cv2.erode(read_mask(path), np.ones((7, 7), np.uint8)))
    write_image(root / "keys" / "255" / f"{stem}.png", painted)
    stylize(root / "frames", root / "keys", root / "kept", masks=root / "tight", style=SMALL, train=FAST, feather=0)
    stylize(root / "frames", root / "keys", root / "grown", masks=root / "tight", style=SMALL, train=FAST, feather=0,
            grow=3)
    name = f"{small_sample.stems[3]}.png"
    tight, frame = read_mask(root / "tight" / name), small_sample.frames[3].astype(int)
    rim = (grow_segments(tight, 3) == 255) & (tight == 0)
    kept, grown = (read_image(root / folder / name).astype(int) for folder in ("kept", "grown"))
    assert rim.sum() > 100
    np.testing.assert_array_equal(kept[rim], frame[rim])  # without --grow the rim keeps the original frame
    assert np.abs(grown[rim] - frame[rim]).mean() > 3  # with it the rim is drawn in the figure's style
    composite(root / "frames", {255: root / "grown"}, root / "tight", root / "final", feather=0, grow=3)
    assert "other frames or masks" not in caplog.text  # the run's own masks, grown alike
    np.testing.assert_array_equal(read_image(root / "final" / name), grown)
    composite(root / "frames", {255: root / "grown"}, root / "tight", root / "ungrown", feather=0)
    assert "(or with another --binary or --grow)" in caplog.text
    write_cutouts(root / "frames", root / "tight", root / "cut", grow=3)
    alpha = cv2.imread(str(root / "cut" / name), cv2.IMREAD_UNCHANGED)[..., 3]
    np.testing.assert_array_equal(alpha > 0, grow_segments(tight, 3) == 255)
    with pytest.raises(KeyframeError, match="--grow: grows the segments of --masks"):
        stylize(root / "frames", root / "keys" / "255", root / "whole", style=SMALL, train=FAST, grow=3)
