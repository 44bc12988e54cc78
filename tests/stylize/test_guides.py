import numpy as np

from keyframe.stylize import GuideConfig, track_blobs
from keyframe.stylize.guides import render_blobs


def _moving_clip(shift=3, frames=4):
    rng = np.random.default_rng(0)
    texture = (rng.random((120, 200)) * 255).astype(np.uint8)
    import cv2

    texture = cv2.GaussianBlur(texture, (0, 0), 2)
    clip = [np.repeat(texture[:96, 20 - shift * t : 20 - shift * t + 128, None], 3, axis=2) for t in range(frames)]
    return np.stack(clip)


def test_blobs_follow_the_motion():
    clip = _moving_clip()  # content moves right by 3 px per frame
    track = track_blobs(clip, anchor=1, config=GuideConfig(spacing=32, sigma=6, flow_scale=1.0))
    inner = (track.points[1, :, 0] > 30) & (track.points[1, :, 0] < 100) & (track.points[1, :, 1] > 20) & (track.points[1, :, 1] < 76)
    moved = track.points[3, inner] - track.points[1, inner]
    np.testing.assert_allclose(np.median(moved[:, 0]), 6.0, atol=1.0)
    np.testing.assert_allclose(np.median(moved[:, 1]), 0.0, atol=1.0)
    back = track.points[0, inner] - track.points[1, inner]
    np.testing.assert_allclose(np.median(back[:, 0]), -3.0, atol=1.0)


def test_guide_image_is_smooth_colour_in_range():
    guide = render_blobs(np.array([[10.0, 10.0], [30.0, 10.0]]), np.array([[1.0, 0, 0], [0, 0, 1.0]]), (20, 40), 4.0)
    assert guide.shape == (20, 40, 3) and guide.dtype == np.float32
    assert 0 <= guide.min() and guide.max() <= 1
    assert guide[10, 10, 0] > 0.9 and guide[10, 30, 2] > 0.9


def test_blobs_are_tracked_from_frames_read_in_order_a_block_at_a_time():
    # Read frame by frame backwards from the anchor, a video seeked (and decoded from a keyframe) for every frame:
    # 11.7 s instead of 0.6 s for 280 frames of an H.264 clip anchored near its end.
    from keyframe.io import ArrayFrames

    class Reads(ArrayFrames):
        calls = 0

        def iter_frames(self, start=0, stop=None, step=1):
            Reads.calls += 1
            return super().iter_frames(start, stop, step)

    frames = _moving_clip(shift=0, frames=150)  # still: the blobs stay, and the 150 frames stay cheap
    source = Reads(frames)
    tracked = track_blobs(source, anchor=140, config=GuideConfig(spacing=16, sigma=4))
    assert Reads.calls <= 2 + 3  # the anchor, the frames after it, and 140 before it in blocks of 64
    np.testing.assert_array_equal(tracked.points, track_blobs(frames, 140, GuideConfig(spacing=16, sigma=4)).points)
