"""The ``keyframe`` command line: parse, call the library, print.

Every command turns a :class:`~keyframe.errors.KeyframeError` into one line on
stderr and exit code 2; nothing here holds logic that the Python API lacks.
"""

from __future__ import annotations

import logging
import signal
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from keyframe.errors import KeyframeError

app = typer.Typer(
    help="Learn a video from a few frames: segment, stylize, find movements.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console(stderr=True, soft_wrap=True)
# Results on stdout are plain lines for scripts: no markup (paths may hold "[...]"), no wrapping, no colour.
out = Console(markup=False, highlight=False, soft_wrap=True)
DETECT_KEEPS = "with --json OUT, detection keeps its work in OUT.partial as it goes, and a rerun resumes from it"
RENDER_KEEPS = "render-motion writes the video only once every frame is drawn; a rerun starts over"
VIDEO_KEEPS = "a video is written whole or not at all; a rerun starts over"
# --binary, wherever masks are read
Binary = Annotated[bool, typer.Option("--binary", help="Read each mask as one segment, 128 and up against background: "
                                                       "for mattes with soft (anti-aliased) edges.")]
Grow = Annotated[float, typer.Option(help="Grow every segment but the background by this many pixels into it (0-50): "
                                          "for hair or fur the masks left out.")]
# Said also when Ctrl-C came before any work was kept (a moment after the start): then the rerun starts over.
INTERRUPTED = ("interrupted; no output was made to look complete, and running the same command again resumes from the "
               "work it kept under a *.partial name, if it kept any")


@contextmanager
def _nothing_kept_on_interrupt(nothing_kept: bool | Callable[[], bool], hint: str):
    """Where a run keeps no work to resume (``nothing_kept``, or what it returns when Ctrl-C comes), Ctrl-C says so,
    and ``hint``, instead of :data:`INTERRUPTED`'s promise of a resume. As a decorator, over the whole command, its
    start-up included."""
    try:
        yield
    except KeyboardInterrupt:
        if not (nothing_kept() if callable(nothing_kept) else nothing_kept):
            raise
        console.print(f"interrupted; nothing was kept: {hint}")
        sys.exit(130)


def counted(count: int, noun: str) -> str:
    """``"1 frame"``, ``"2 frames"``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def print_error(message: str) -> None:
    """One red ``error:`` line on stderr, the message printed as given (paths may hold markup-like "[...]")."""
    console.print("[bold red]error:[/]", escape(message), highlight=False, soft_wrap=True)


def _print_version(given: bool) -> None:
    if given:
        from importlib.metadata import version

        out.print(f"keyframe {version('keyframe')}")
        raise typer.Exit()


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log diagnostics.")] = False,
          _version: Annotated[bool, typer.Option("--version", help="Print keyframe's version and exit.",
                                                 callback=_print_version, is_eager=True)] = False):
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _held_output(path: Path | None):
    """The lock of an output file that is not a folder (``--video``, ``--json``) for the whole run, or nothing
    when it is not given: a second run into the same file is refused at the start, not found out when its output
    replaces the first one's or mixes into its journal."""
    from keyframe.io.atomic import exclusive

    return exclusive(path) if path is not None else nullcontext()


def writable(files=(), folders=(), inputs=(), videos=()) -> None:
    """Refuse output paths that could not be written, files that name one of the ``inputs`` or lie in an input
    folder (:func:`~keyframe.io.atomic.check_file_apart`), folders not apart from them (:func:`~keyframe.io.atomic.check_apart`, as the library checks
    them later), and ``videos`` (also in ``files``) not named .mp4 or where a file is that keyframe did not write,
    before any work (a usage error naming the path)."""
    from keyframe.io import check_writable
    from keyframe.io.atomic import check_apart, check_file_apart
    from keyframe.io.video import check_mp4, check_replaceable

    for path, folder in [(path, False) for path in files] + [(path, True) for path in folders]:
        if path is None:
            continue
        # Apart first: the writability probe writes a file beside the output, which would touch an input folder.
        (check_apart if folder else check_file_apart)(path, inputs)
        check_writable(path, folder=folder)
    for video in videos:
        if video is not None:
            check_mp4(video)
            check_replaceable(video)


# --- frames ---------------------------------------------------------------

frames_app = typer.Typer(help="Extract frames from a video, encode frames to one, or describe a video (info).", no_args_is_help=True)
app.add_typer(frames_app, name="frames")


@frames_app.command("extract")
def frames_extract(
    video: Annotated[Path, typer.Argument(help="Video file to decode.")],
    out_dir: Annotated[Path, typer.Argument(help="Folder for 000000.png, ... and video.json.")],
    every: Annotated[int, typer.Option(help="Keep one frame in N.")] = 1,
    start: Annotated[int, typer.Option(help="First frame index to keep (0-based).")] = 0,
    end: Annotated[Optional[int], typer.Option(help="Stop before this frame index (default: the end).")] = None,
    max_side: Annotated[Optional[int], typer.Option(help="Shrink so the longer side is at most N pixels (default: keep the size).")] = None,
    gamma: Annotated[Optional[float], typer.Option(help="Gamma correction; > 1 brightens mid-tones (default: none).")] = None,
    png_level: Annotated[int, typer.Option(help="PNG level: 0 stores (fastest, largest); 1-3 ISA-L deflate; 4-9 zlib (smallest, slowest).")] = 1,
):
    """Write a video's frames as numbered PNGs (resumable; built under OUT_DIR.partial)."""
    from keyframe.io import ExtractOptions, extract_frames
    from keyframe.progress import progress_bar

    writable(folders=[out_dir], inputs=[video])
    options = ExtractOptions(every=every, start=start, end=end, max_side=max_side, gamma=gamma, png_level=png_level)
    with progress_bar("extracting") as progress:
        manifest = extract_frames(video, out_dir, options, progress=progress)
    size = f"{manifest['width']}x{manifest['height']}"
    rate = f"{manifest['fps']:g} fps" + (" on average, each frame's time in video.json" if "frame_seconds" in manifest else "")
    kept = f" ({manifest['resumed_frames']} kept from the interrupted run)" if "resumed_frames" in manifest else ""
    out.print(f"{counted(manifest['frame_count'], 'frame')} {size} at {rate} -> {out_dir}{kept}")


@frames_app.command("encode")
@_nothing_kept_on_interrupt(True, VIDEO_KEEPS)  # the whole command: Ctrl-C while it loads too
def frames_encode(
    frames_dir: Annotated[Path, typer.Argument(help="Frame folder (or a video to re-encode).")],
    out_video: Annotated[Path, typer.Argument(help="Output .mp4 (H.264, yuv420p).")],
    fps: Annotated[Optional[float], typer.Option(help="Frame rate; default: the folder's video.json, else 25.")] = None,
    crf: Annotated[int, typer.Option(help="x264 quality: 0 lossless ... 51 worst; 18 looks lossless.")] = 18,
    audio: Annotated[Optional[Path], typer.Option(help="A video whose sound goes with the frames.")] = None,
    audio_start: Annotated[Optional[float], typer.Option(
        help="Take the sound from this many seconds into --audio (default: where the frames begin, which "
             "`frames extract --start` records).", show_default=False)] = None,
):
    """Encode a folder of frames to an H.264 mp4 (with the sound of another video, --audio)."""
    from keyframe.io import encode_frames
    from keyframe.progress import progress_bar

    writable([out_video], inputs=[frames_dir], videos=[out_video])
    if audio_start is not None and audio is None:
        raise KeyframeError("--audio-start needs --audio, the video to take the sound from")
    with progress_bar("encoding") as progress:
        count = encode_frames(frames_dir, out_video, fps=fps, crf=crf, progress=progress, audio=audio,
                              audio_start=audio_start)
    out.print(f"{counted(count, 'frame')} -> {out_video}")


@frames_app.command("info")
def frames_info(
    paths: Annotated[list[Path], typer.Argument(help="Videos or frame folders.")],
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write them as {\"inputs\": [...]}.")] = None,
):
    """Say what videos or frame folders hold: frames, size, frame rate (and whether it varies), duration."""
    from keyframe.io import describe, write_json
    from keyframe.io.atomic import check_own_json

    writable([json_out], inputs=paths)
    if json_out is not None:
        check_own_json(json_out, [("inputs", "frames", "fps")], "a frames info JSON")
    described, failed = [], 0
    for path in paths:
        try:
            described.append(describe(path))
        except KeyframeError as error:
            print_error(str(error))
            failed += 1
    if json_out and described:  # with nothing described, an earlier JSON is kept rather than emptied
        write_json(json_out, {"inputs": described})
    for info in described:
        out.print(_info_line(info), soft_wrap=True)
    if failed:
        raise typer.Exit(1 if described else 2)


def _info_line(info: dict) -> str:
    rate = "no frame rate (no video.json)" if info["fps"] is None else f"{info['fps']:g} fps"
    if info.get("variable_rate"):
        rate += f" on average, variable ({info['fps_range'][0]:g}-{info['fps_range'][1]:g})"
    duration = f", {info['duration']:.2f} s" if "duration" in info else ""
    codec = f", {info['codec']}" if "codec" in info else ""
    codec += f", HDR ({info['hdr']}, read as SDR)" if "hdr" in info else ""
    if info.get("interlaced"):
        codec += f", interlaced, {info['first_field']} field first (fields mended when read)"
    codec += f", pixels {info['pixel_aspect']} (shown {info['shown_width']} wide)" if "pixel_aspect" in info else ""
    return (f"{info['path']}: {info['kind']}, {counted(info['frames'], 'frame')}, {info['width']}x{info['height']}, "
            f"{rate}{duration}{codec}")


# --- sample ---------------------------------------------------------------


@app.command("sample")
def sample(
    out_dir: Annotated[Path, typer.Argument(help="Folder for frames/, masks/, video.mp4 and sample.json.")],
    movement: Annotated[str, typer.Option(help="wave, squat, jumping_jack or march.")] = "wave",
    frames: Annotated[int, typer.Option(help="Number of frames.")] = 60,
    size: Annotated[str, typer.Option(help="WIDTHxHEIGHT.")] = "320x240",
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same clip.")] = 0,
):
    """Generate the built-in sample: a figure doing a movement, with exact masks."""
    from keyframe.io.atomic import check_output_folder
    from keyframe.progress import progress_bar
    from keyframe.sample import make_sample, write_sample

    writable(folders=[out_dir])
    width, height = parse_size(size)
    check_output_folder(out_dir, kind="sample")  # before the drawing, which takes minutes for a long clip
    with _nothing_kept_on_interrupt(True, "the sample is made whole; a rerun starts over"), progress_bar("sample") as progress:
        clip = make_sample(movement, frames, (width, height), seed, progress=progress)
        write_sample(out_dir, clip, progress=progress)
    out.print(f"{counted(frames, 'frame')} of {movement!r} ({width}x{height}, seed {seed}) -> {out_dir}")


def parse_size(text: str) -> tuple[int, int]:
    """``"320x240"`` -> ``(320, 240)``, with a usage error otherwise."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise KeyframeError(f"--size must look like 320x240, got {text!r}") from None
    return width, height


# --- segment --------------------------------------------------------------


class DefaultCommandGroup(TyperGroup):
    """A group that runs its ``run`` command when the first word names no subcommand.

    This lets ``keyframe segment FRAMES ...`` and ``keyframe segment eval ...`` coexist, and options may come
    before FRAMES (``keyframe segment --masks m --out o FRAMES``): the group itself takes none but ``--help``.
    """

    def parse_args(self, ctx, args):
        if args and args[0].startswith("-") and args[0] not in ("--help", "-h") and "run" in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and "run" in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().resolve_command(ctx, args)


segment_app = typer.Typer(
    cls=DefaultCommandGroup,
    help="Mask every frame from a few hand-made masks; score masks against the truth.",
    no_args_is_help=True,
)
app.add_typer(segment_app, name="segment")


@segment_app.command("run")
def segment_run(
    frames: Annotated[Path, typer.Argument(help="Frame folder or video file.")],
    masks: Annotated[Path, typer.Option("--masks", help="Folder of PNG masks named as their frames (0 = background).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for <stem>.png per frame (built as OUT.partial).")],
    methods: Annotated[str, typer.Option(help="Comma-separated members of flow, backsub, gmm, grabcut, cnn, unet; "
                                              "and selfie (MediaPipe, for people) if mediapipe is installed.",
                                         show_default="all six but selfie")] = "flow,backsub,gmm,grabcut,cnn,unet",
    trials: Annotated[int, typer.Option(help="Optuna trials for the CNN, the UNet and the stacker (0 = fast defaults).", min=0)] = 0,
    soft: Annotated[bool, typer.Option("--soft", help="Also write probabilities (0-255) under OUT/soft/.")] = False,
    keep_members: Annotated[bool, typer.Option("--keep-members", help="Also write each member's masks under OUT/members/<name>/.")] = False,
    binary: Binary = False,
):
    """Mask every frame of FRAMES from a few hand-made masks (usage: keyframe segment FRAMES --masks M --out O)."""
    from keyframe.progress import progress_bar
    from keyframe.segment import segment

    from keyframe.segment.pipeline import kept_masks

    writable(folders=[out_dir], inputs=[frames, masks])
    # Once masks are made, the general note: the rerun resumes from them.
    with (_nothing_kept_on_interrupt(lambda: not kept_masks(out_dir), "no mask was made yet, and a segment's training is "
                                     "kept only with its masks, so the same command starts over"),
          progress_bar("segmenting") as progress):
        summary = segment(frames, masks, out_dir, methods=methods, trials=trials, soft=soft, keep_members=keep_members,
                          binary=binary, progress=progress)
    kept = summary.get("resumed_segments", [])
    out.print(
        f"{counted(summary['frames'], 'frame')} ({summary['annotated']} annotated, {len(summary['labels'])} segment(s)) "
        f"in {summary['seconds']:.0f} s ({summary['seconds_per_frame']:.2f} s/frame) -> {out_dir}"
        + (f"; segment(s) {', '.join(map(str, kept))} kept from the interrupted run" if kept else "")
    )
    for label, info in summary["segments"].items():
        if info.get("resumed_at"):
            out.print(f"segment {label}: resumed at frame {info['resumed_at']}, the masks before it kept from the interrupted run")


@segment_app.command("preview")
@_nothing_kept_on_interrupt(True, VIDEO_KEEPS)
def segment_preview(
    frames: Annotated[Path, typer.Argument(help="Frame folder or video file.")],
    masks: Annotated[Path, typer.Option("--masks", help="Folder of PNG masks named as their frames: segment's output, or "
                                                        "hand-made ones.")],
    video_out: Annotated[Path, typer.Option("--out", "-o", help="Output .mp4.")],
    tint: Annotated[float, typer.Option(help="How strongly each segment is tinted with its colour: 0 draws the "
                                             "outlines alone (to judge the edge by), 1 paints the segments over.")] = 0.45,
):
    """Write a video of the frames with their masks drawn over them, each segment in its own colour."""
    from keyframe.progress import progress_bar
    from keyframe.segment import preview
    from keyframe.segment.preview import check_tint

    check_tint(tint)
    writable([video_out], inputs=[frames, masks], videos=[video_out])
    with progress_bar("previewing") as progress:
        count = preview(frames, masks, video_out, progress=progress, tint=tint)
    out.print(f"{counted(count, 'frame')} with their masks -> {video_out}")


@segment_app.command("cutout")
def segment_cutout(
    frames: Annotated[Path, typer.Argument(help="Frame folder or video file.")],
    masks: Annotated[Path, typer.Option("--masks", help="Folder of PNG masks named as their frames, one for every frame: "
                                                        "segment's output.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Output folder of RGBA PNGs, or a .mov (ProRes 4444 "
                                                               "with alpha).")],
    segments: Annotated[Optional[list[int]], typer.Option("--segment", help="Keep only this segment (its mask value); "
                                                                           "repeat for more. Default: every segment.")] = None,
    feather: Annotated[float, typer.Option(help="Soften the cut-out's edge over about this many pixels (0-100).")] = 0.0,
    binary: Binary = False,
    grow: Grow = 0.0,
):
    """Cut the segmented subject out of every frame onto a transparent background, for a video editor."""
    from keyframe.io.video import VIDEO_SUFFIXES

    movie = out_path.suffix.lower() in VIDEO_SUFFIXES
    with _nothing_kept_on_interrupt(movie, VIDEO_KEEPS):  # from here: loading the library takes seconds
        from keyframe.progress import progress_bar
        from keyframe.segment import write_cutouts

        writable([out_path] if movie else [], folders=[] if movie else [out_path], inputs=[frames, masks])
        with progress_bar("cutting out") as progress:
            count = write_cutouts(frames, masks, out_path, segments=segments, feather=feather, progress=progress,
                                  binary=binary, grow=grow)
    out.print(f"{counted(count, 'cut-out')} -> {out_path}")


@segment_app.command("eval")
def segment_eval(
    pred_dir: Annotated[Path, typer.Argument(help="Predicted masks (PNG).")],
    truth_dir: Annotated[Path, typer.Argument(help="True masks (PNG), matched by stem.")],
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write all numbers, per frame too.")] = None,
):
    """J (IoU), boundary F and J&F as the DAVIS benchmark computes them."""
    from keyframe.io import write_json
    from keyframe.io.atomic import check_own_json
    from keyframe.metrics import evaluate_masks
    from keyframe.progress import progress_bar

    writable([json_out], inputs=[pred_dir, truth_dir])
    if json_out is not None:
        check_own_json(json_out, [("J", "F", "JF")], "a segment eval's JSON")
    with progress_bar("scoring") as progress:
        scores = evaluate_masks(pred_dir, truth_dir, progress=progress)
    if json_out:  # before printing: a reader that closes the pipe early must not cost the JSON
        write_json(json_out, scores)
    out.print(
        f"{counted(scores['frames'], 'frame')}  J {scores['J']['mean']:.3f}  F {scores['F']['mean']:.3f}  J&F {scores['JF']:.3f}"
    )


# --- demo -----------------------------------------------------------------


@app.command("demo")
def demo(out_dir: Annotated[Path, typer.Argument(help="Folder for every result of the demo.")] = Path("out/demo")):
    """Run the toolkit on the built-in sample and write everything to OUT_DIR."""
    from keyframe.demo import run_demo

    writable(folders=[out_dir])
    summary = run_demo(out_dir, log=out.print)
    out.print(f"done in {summary['seconds']} s; results in {out_dir}/ (summary.json)")


# --- backbone -------------------------------------------------------------

backbone_app = typer.Typer(help="The pretrained image backbone (EfficientNet-Lite0, ImageNet).", no_args_is_help=True)
app.add_typer(backbone_app, name="backbone")


@backbone_app.command("classify")
def backbone_classify(
    image: Annotated[Path, typer.Argument(help="Image file (PNG, JPEG, BMP, TIFF, WebP).")],
    top: Annotated[int, typer.Option(help="How many classes to print.", min=1, max=1000)] = 5,
):
    """Print IMAGE's top ImageNet classes (index, probability, name), best first.

    A transparent part of the image is seen over white.
    """
    from keyframe.nets import classify, imagenet_class_names

    names = imagenet_class_names()
    # Upright, as frames are read; a cut-out's transparent background is white, not the colours hidden under it.
    for index, probability in classify(image, k=top)[0]:
        out.print(f"{index:4d}  {probability:.4f}  {names[index]}")


# --- movement -------------------------------------------------------------

movement_app = typer.Typer(help="Learn one movement from a clip; find it in other videos.", no_args_is_help=True)
app.add_typer(movement_app, name="movement")


@movement_app.command("learn")
def movement_learn(
    clips: Annotated[list[Path], typer.Argument(help="Videos or frame folders of the movement.")],
    model_out: Annotated[Path, typer.Option("-o", "--out", help="Model file to write (e.g. wave.kfm).")],
    features: Annotated[str, typer.Option(
        help="pixels, cnn (EfficientNet-Lite0), pose or gesture (pose landmarks less their posture and width over "
             "the surrounding 4 s; both need mediapipe); join kinds with + (pixels+pose, pixels+pose+gesture) to "
             "learn a model of each and combine their scores (see --fusion).")] = "pixels",
    negatives: Annotated[Optional[list[Path]], typer.Option(
        help="A clip of another movement; repeat for more. Each gets a predictor of its own, and scores become "
             "relative to them (learning takes about one model's time more per clip).")] = None,
    trials: Annotated[int, typer.Option(help="Optuna trials of the hyper-parameter search; 1 trains the defaults. "
                                             "Finished trials are kept in <model name>.partial: a rerun resumes the search.")] = 1,
    window: Annotated[int, typer.Option(help="Frames per window (2-1000).")] = 9,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same model.")] = 0,
    pose_frame: Annotated[str, typer.Option(
        help="For pose: body (3D, turned to face the same way in every frame, so the camera angle does not matter) "
             "or image (the landmarks as filmed: keeps turns of the whole body, such as a spin).")] = "body",
    fusion: Annotated[str, typer.Option(
        help="With several feature kinds: min (a stretch counts only if every kind finds the movement there) or "
             "mean (of their scores, each in units of its spread).")] = "min",
    crop_seconds: Annotated[Optional[float], typer.Option(
        help="For pixels and cnn: cut each frame to the square around what moves within this many seconds of it "
             "(0.2-30; default 5), so the crop follows the performer and a stretch scores about the same alone "
             "as in a longer video. 0: every frame of a clip to one square, found over the whole clip.",
        show_default=False)] = None,
    start: Annotated[int, typer.Option(help="Learn each clip from this frame index on (0-based); the frames around "
                                            "the stretch still frame its crops and gestures, as in detection.")] = 0,
    end: Annotated[Optional[int], typer.Option(help="Learn each clip up to before this frame index (default: "
                                                    "its end).")] = None,
):
    """Learn the movement in CLIPS (next-frame prediction) and calibrate its threshold."""
    # The whole learning, its start-up included (loading the library takes seconds): with one trial nothing is kept.
    with _nothing_kept_on_interrupt(trials == 1, "learning starts afresh when run again"):
        from dataclasses import replace

        from keyframe.motion import LearnConfig, NetConfig, Stretch, WindowConfig, feature_kinds, learn
        from keyframe.motion.features import CROPPED_KINDS, DEFAULT_CROP_SECONDS
        from keyframe.motion.windows import MAX_WINDOW
        from keyframe.progress import progress_bar

        if not 2 <= window <= MAX_WINDOW:
            raise KeyframeError(f"--window must be from 2 to {MAX_WINDOW} frames, got {window}")
        writable([model_out], inputs=[*clips, *(negatives or [])])
        lead, partners = feature_kinds(features, pose_frame, DEFAULT_CROP_SECONDS if crop_seconds is None else crop_seconds or None)
        # Settings are checked before the notes on them: a note must not come before the error that ends the run.
        config = LearnConfig(features=lead, partners=partners, fusion=fusion, window=WindowConfig(window),
                             net=replace(NetConfig(), seed=seed), trials=trials)
        if crop_seconds is not None and not any(kind.kind in CROPPED_KINDS for kind in (lead, *partners)):
            console.print(f"note: --crop-seconds is for pixels and cnn features; with {features} it does nothing", markup=False)
        if fusion != "min" and not partners:
            console.print(f"note: --fusion combines several feature kinds; with {features} alone it does nothing", markup=False)
        if pose_frame != "body" and not any(kind.landmarks for kind in (lead, *partners)):
            console.print(f"note: --pose-frame is for pose features; with {features} it does nothing", markup=False)
        with progress_bar("learning") as progress:
            stretches = [Stretch(clip, start, end) for clip in clips] if start or end is not None else clips
            model = learn(stretches, config, negatives=negatives or [], out=model_out, progress=progress)
    info = model.info
    count = len(model.cohort)
    cohort = f"; scores relative to {count} model{'s' if count != 1 else ''} of the negatives" if count else ""
    kinds = info.get("features", model.features.kind)
    if model.partners:
        weights = ", ".join(f"{part.features.kind} {weight:.2f}" for part, weight in zip(model.parts(), model.weights))
        kinds += f" (fusion {model.fusion}, weights {weights})"
    pose = next((part.features for part in model.parts() if part.features.landmarks), None)
    if pose is not None:
        kinds += f", landmarks in the {pose.pose_frame} frame"
    cropped = next((part.features for part in model.parts() if part.features.kind in CROPPED_KINDS), None)
    if cropped is not None:
        kinds += (", one crop per clip" if cropped.crop_seconds is None
                  else f", each frame cropped to what moves within {cropped.crop_seconds:g} s")
    kept = sum(part.info["search"].get("kept_trials", 0) for part in model.parts())
    if kept:  # the time reported counts theirs too, as if the search had not been stopped
        total = sum(part.info["search"]["trials"] for part in model.parts())
        out.print(f"resumed the search: {kept} of {total} trials kept from the interrupted run")
    out.print(f"learned {kinds} from {counted(info['frames'], 'frame')} in {info['seconds']} s ({info['epochs']} epochs){cohort}; "
              f"threshold {model.threshold:.3f} ({model.calibration['method']}) -> {model_out}")


@movement_app.command("detect")
def movement_detect(
    model: Annotated[Path, typer.Argument(help="Model file from `keyframe movement learn`.")],
    videos: Annotated[list[Path], typer.Argument(help="Video or frame folder to search; give several to rank them.")],
    json_out: Annotated[Optional[Path], typer.Option(
        "--json", help="Write the detection as JSON: score, detected, threshold, frame_scores, intervals, interval_seconds, "
                       "fps and more (with several videos: a list of "
                       "those, best first, and the videos that failed); the work is kept in <json name>.partial until then, "
                       "and an interrupted run resumes from it.")] = None,
    plot: Annotated[Optional[Path], typer.Option(
        help="Write the score-curve plot (PNG); with several videos, a folder to write one plot per video in (it "
             "then holds this search's plots alone); with one video, an existing folder adds <video>.png.")] = None,
    keep_rate: Annotated[bool, typer.Option(
        "--keep-rate", help="Score every frame of a video at N times the rate the model learned from (by default "
                            "one frame in N is scored, so the movement moves as far per frame as it did then).")] = False,
    threshold: Annotated[Optional[float], typer.Option(
        help="Call the movement found at and above this score instead of at the model's calibrated threshold "
             "(printed by learn and detect): lower finds more, higher finds less.", show_default=False)] = None,
):
    """Say whether VIDEOS show the learned movement, and where; several videos are ranked by score."""
    # From the start: loading the library takes seconds, and without --json nothing is kept.
    with _nothing_kept_on_interrupt(json_out is None, DETECT_KEEPS):
        from keyframe.motion.detect import DetectConfig, check_detection_output
        from keyframe.motion.plot import check_plot_output

        # A folder of plots, one per video: with several videos, or one (a glob that matched one) into a folder.
        plot_folder = plot is not None and (len(videos) > 1 or plot.is_dir())
        if plot_folder and not plot.exists() and plot.suffix.lower() == ".png":  # a slip: a folder named so misleads
            raise KeyframeError(f"{plot}: with several videos --plot names a folder for one plot per video; give a "
                                "name without .png")
        if plot is not None and not plot_folder:
            if plot.suffix.lower() != ".png":
                raise KeyframeError(f"{plot}: a plot is written as a PNG; give a name ending in .png, or an existing "
                                    "folder to write <video>.png in")
        writable([json_out, None if plot_folder else plot], inputs=[model, *videos])
        if plot is not None and not plot_folder:  # after writable: a plot among the inputs is that mistake first
            check_plot_output(plot, own_only=True)
        if json_out is not None:
            check_detection_output(json_out)
        if json_out is not None and plot is not None:
            report, plots = json_out.resolve(), plot.resolve()
            if report == plots:
                raise KeyframeError(f"{json_out}: given as both --json and --plot; give two names")
            if plot_folder and plots in report.parents:
                raise KeyframeError(f"{json_out}: lies inside the --plot folder, which holds the plots alone; write it elsewhere")
        config = DetectConfig(match_rate=not keep_rate, threshold=threshold)
        # With --json, the work is kept in OUT.partial as it is done: a rerun of an interrupted command resumes from it,
        # and a second run into the same OUT is refused (it would write into the same journal).
        with _held_output(json_out):
            _detect_or_search(model, videos, json_out, plot, plot_folder, config)


def _detect_or_search(model: Path, videos: list[Path], json_out: Path | None, plot: Path | None, plot_folder: bool,
                      config) -> None:
    """`movement detect` once its arguments are checked: one video's verdict, or a ranking of several; the plot
    is ``plot`` itself, or with ``plot_folder`` one ``<video>.png`` per video in that folder."""
    from keyframe.io import partial_dir
    from keyframe.io.atomic import check_output_folder, same_file_key
    from keyframe.motion import detect, plot_detection, search
    from keyframe.motion.plot import PLOTS_KIND, plot_search
    from keyframe.progress import progress_bar

    journal = partial_dir(json_out) if json_out else None
    if len(videos) == 1:
        if plot_folder:
            writable(folders=[plot], inputs=[model, *videos])
            check_output_folder(plot, [model, *videos], PLOTS_KIND)
        with progress_bar("detecting") as progress:
            result = detect(model, videos[0], config, progress=progress, journal=journal)
        # Outputs first: a reader that closes the pipe early (`| head -1`) must not cost the JSON.
        if plot_folder:  # added to the folder: the plots of an earlier search stay
            name, = plot_search([result], videos, plot, keep=True)
            result.extra["plot"] = str(plot / name)  # named after the video: said, as with several videos
        elif plot:
            plot_detection(result, plot)
        if json_out:
            result.write_json(json_out)
            journal.unlink(missing_ok=True)
        _print_detection(str(videos[0]), result)
        if result.resumed_windows:
            console.print(f"resumed: {counted(result.resumed_windows, 'window')} of {len(result.window_scores)} "
                          f"kept from the interrupted run", markup=False, highlight=False)
        return
    # One video under several spellings (./a.mp4, dir/../a.mp4, a link to it, symbolic or hard) is one video,
    # named as first given.
    distinct = {}
    for video in videos:
        distinct.setdefault(same_file_key(video), video)
    if len(distinct) < len(videos):
        console.print("note: each video given more than once is searched once", markup=False, highlight=False)
        videos = list(distinct.values())
    missing = [video for video in videos if not video.exists()]
    if missing:
        raise KeyframeError(f"{missing[0]}: no such file or folder" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    if plot is not None and plot.exists() and not plot.is_dir():
        raise KeyframeError(f"{plot}: is a file; with several videos --plot names a folder for one plot per video")
    writable(folders=[plot], inputs=[model, *videos])
    if plot is not None:
        check_output_folder(plot, [model, *videos], PLOTS_KIND)
    with progress_bar("searching") as progress:
        found = search(model, videos, config, progress=progress, journal=journal)
    if plot:
        for result, name in zip(found.ranked, plot_search(found.ranked, videos, plot)):
            result.extra["plot"] = str(plot / name)  # which plot is whose, when names repeat
    if json_out:
        found.write_json(json_out)
        journal.unlink(missing_ok=True)
    for _, error in found.failed:
        print_error(str(error))
    given = "" if found.calibrated_threshold is None else f" given, the model's own {found.calibrated_threshold:.3f}"
    out.print(f"{counted(len(found.ranked), 'video')} ranked by score (threshold {found.threshold:.3f}{given}), best first:")
    for result in found.ranked:
        _print_detection(result.path, result)
    resumed = [result for result in found.ranked if result.resumed_windows]
    if resumed:
        console.print(f"resumed: {counted(len(resumed), 'video')} scored wholly or partly by the interrupted run",
                      markup=False, highlight=False)
    if found.failed:
        console.print(f"{len(found.failed)} of {len(videos)} videos could not be searched")
        raise typer.Exit(1)


def _print_detection(name: str, result) -> None:
    verdict = "detected" if result.detected else "not detected"
    calibrated = result.extra.get("calibrated_threshold")
    given = "" if calibrated is None else f" given, the model's own {calibrated:.3f}"
    out.print(f"{name}: {verdict} (score {result.score:.3f}, threshold {result.threshold:.3f}{given})", soft_wrap=True)
    if result.extra.get("plot"):  # with several videos, one plot each: named after the videos, which may repeat
        out.print(f"  plot: {result.extra['plot']}", soft_wrap=True)
    if result.intervals and not result.detected:  # stretches that pass, in a clip whose score (its best 2 s) does not
        out.print("  at or above the threshold, too briefly for the clip's score:")
    for (first, last), (start, end) in zip(result.intervals, result.interval_seconds):
        out.print(f"  frames {first}-{last}  ({start:.2f}-{end:.2f} s)")
    if result.extra.get("note"):
        console.print(f"note: {name}: {result.extra['note']}", markup=False, highlight=False)


# --- render-motion --------------------------------------------------------


@app.command("render-motion")
@_nothing_kept_on_interrupt(True, RENDER_KEEPS)
def render_motion_cmd(
    bvh: Annotated[Path, typer.Argument(help="BVH motion capture file.")],
    video_out: Annotated[Path, typer.Option("-o", "--out", help="Output .mp4.")],
    azimuth: Annotated[float, typer.Option(help="Camera angle around the performer in degrees; 0 = from the front, "
                                                "90 = from the performer's left.")] = 0.0,
    elevation: Annotated[float, typer.Option(help="Camera angle above the horizon in degrees, -89 to 89.")] = 10.0,
    size: Annotated[str, typer.Option(help="WIDTHxHEIGHT, 16x16 to 8192x8192.")] = "320x240",
    fps: Annotated[Optional[float], typer.Option(help="Frame rate (0.01-1000); default: the file's.")] = None,
    follow: Annotated[bool, typer.Option(help="Keep the performer centred and large (for walks and runs, which "
                                               "otherwise cross the picture small).")] = False,
):
    """Render a BVH skeleton as a shaded humanoid to an mp4."""
    from keyframe.motion import RenderOptions, render_motion
    from keyframe.progress import progress_bar

    writable([video_out], inputs=[bvh], videos=[video_out])
    options = RenderOptions(size=parse_size(size), azimuth=azimuth, elevation=elevation, fps=fps, follow=follow)
    # The video is written whole or not at all: there is nothing to resume.
    with progress_bar("rendering") as progress:
        summary = render_motion(bvh, video_out, options, progress=progress)
    width, height = summary["size"]
    out.print(f"{counted(summary['frames'], 'frame')} {width}x{height} at {summary['fps']:g} fps, azimuth {azimuth:g} -> {video_out}")


# --- stylize --------------------------------------------------------------


@app.command("stylize")
def stylize_cmd(
    frames: Annotated[Path, typer.Argument(help="Frame folder or video to stylize.")],
    keys: Annotated[Path, typer.Option(help="Painted keyframes: <stem>.png, or per segment <segment-id>/<stem>.png.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for <stem>.png of every frame (and models/).")],
    masks: Annotated[Optional[Path], typer.Option(help="Segmentation (label maps named as the frames) for per-segment keyframes.")] = None,
    iterations: Annotated[Optional[int], typer.Option(help="Training iterations per model (default 1000); more continues a finished run.")] = None,
    video: Annotated[Optional[Path], typer.Option(help="Also encode the result to this .mp4.")] = None,
    feather: Annotated[float, typer.Option(help="Feather radius in pixels where segments meet (0-100).")] = 4.0,
    guides: Annotated[bool, typer.Option(help="Feed a flow-advected blob guide to the network (steadier, slower).")] = False,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same model.")] = 0,
    binary: Binary = False,
    grow: Grow = 0.0,
):
    """Learn the look of painted keyframes and apply it to every frame (resumable)."""
    from keyframe.progress import progress_bar
    from keyframe.stylize import DEFAULT_FEATHER, StyleConfig, TrainConfig, stylize
    from keyframe.stylize.functional import check_feather

    writable([video], folders=[out_dir], inputs=[frames, keys, masks], videos=[video])
    check_feather(feather)  # before the note on it: a note must not come before the error that ends the run
    if masks is None and feather != DEFAULT_FEATHER:
        console.print("note: --feather blends segments, given with --masks; without them it does nothing", markup=False)
    with _held_output(video), progress_bar("stylizing") as progress:
        result = stylize(frames, keys, out_dir, masks, iterations, style=StyleConfig(guides=guides),
                         train=TrainConfig(seed=seed), feather=feather, video=video, progress=progress, binary=binary,
                         grow=grow)
    trained = ", ".join(f"{name} {count} it" + (f" (resumed at {result.resumed_from[name]})"
                                                if 0 < result.resumed_from.get(name, 0) < count else "")
                        for name, count in result.iterations.items())
    # A rerun that finds every frame drawn by an earlier run (interrupted, or finished from the same inputs and
    # models) renders none: it has no rate to report.
    rendering = (f"rendering {result.frames_per_second:.1f} frames/s" if result.rendered == result.frames
                 else f"rendering {result.rendered} of them, the others kept from an earlier run" if result.rendered
                 else "every frame kept from an earlier run")
    # A rerun whose models had trained as far as asked loads them: it has no training time to report.
    training = f"training {result.train_seconds:.0f} s" if result.trained else "the models kept, no training"
    out.print(f"{counted(result.frames, 'frame')} -> {out_dir} ({trained}; {training}, {rendering})"
              + (f"; video {video}" if video else ""))


@app.command("composite")
def composite_cmd(
    frames: Annotated[Path, typer.Argument(help="The original frames (folder or video): what segments without a layer show.")],
    masks: Annotated[Path, typer.Option(help="Segmentation: a label map per frame, named as the frames.")],
    layers: Annotated[list[str], typer.Option("--layer", help="SEGMENT_ID=DIR: that segment's stylized frames; repeat per segment.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the composited <stem>.png.")],
    feather: Annotated[float, typer.Option(help="Feather radius in pixels where segments meet (0-100).")] = 4.0,
    video: Annotated[Optional[Path], typer.Option(help="Also encode the result to this .mp4.")] = None,
    binary: Binary = False,
    grow: Grow = 0.0,
):
    """Blend per-segment results (e.g. separate `keyframe stylize` runs) into one set of frames with feathered masks.

    With --video, the frames are encoded to a video as well.

    Runs of `keyframe stylize --masks` on the same frames and masks meet at their seams as one run would.
    """
    from keyframe.progress import progress_bar
    from keyframe.stylize import composite, parse_layers

    segments = parse_layers(layers)
    writable([video], folders=[out_dir], inputs=[frames, masks, *segments.values()], videos=[video])
    with _held_output(video), progress_bar("compositing") as progress:
        count = composite(frames, segments, masks, out_dir, feather=feather, video=video, progress=progress, binary=binary,
                          grow=grow)
    out.print(f"{counted(count, 'frame')} -> {out_dir}" + (f"; video {video}" if video else ""))


def _raised_on_the_way_out(error: BaseException) -> bool:
    """Whether ``error`` was raised while a Ctrl-C was being handled: clean-up that failed on the way out, such as
    Optuna releasing a journal lock it had not finished taking. The run was interrupted, not broken."""
    cause = error.__context__
    while cause is not None:
        if isinstance(cause, KeyboardInterrupt):
            return True
        cause = cause.__context__
    return False


def _stop_as_ctrl_c(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point."""
    # typer is pinned (pyproject.toml): these are the exceptions of the click it bundles.
    from typer._click.exceptions import ClickException, NoArgsIsHelpError

    # `kill`, a job scheduler or a container stop sends SIGTERM, which would end Python on the spot and leave
    # half-written temporary files; handled as Ctrl-C is, the run cleans up and keeps its work for a resume.
    signal.signal(signal.SIGTERM, _stop_as_ctrl_c)
    try:
        code = app(prog_name="keyframe", standalone_mode=False)  # errors come here, to be printed as one line each
    except NoArgsIsHelpError as error:  # the help is printed already
        sys.exit(error.exit_code)
    except ClickException as error:
        context = getattr(error, "ctx", None)
        where = context.command_path if context is not None else "keyframe"
        print_error(f"{where}: {error.format_message()} (see --help)")
        sys.exit(error.exit_code)
    except KeyframeError as error:
        print_error(str(error))
        sys.exit(2)
    except (KeyboardInterrupt, typer.Abort):
        code = 130
    except Exception as error:
        if not _raised_on_the_way_out(error):
            if not isinstance(error, OSError):
                raise
            # A place that could not be read or written after all (a full disk, a file removed meanwhile).
            where = f"{error.filename}: " if error.filename else ""
            print_error(f"{where}{error.strerror or error}")
            sys.exit(1)
        code = 130
    if code == 130:  # Ctrl-C, which Typer turns into this exit code silently
        console.print(INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
