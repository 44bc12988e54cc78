"""Movements: learn one movement from a clip by predicting its next frames, then find it in other videos.

The Pool seed's idea: a model that knows ONE movement predicts the next
frames well where that movement happens, and badly elsewhere. Also here:
BVH motion capture (parse, forward kinematics) and a renderer that films it
as a shaded humanoid from any camera angle.

Examples
--------
>>> from keyframe.motion import LearnConfig, RenderOptions, detect, learn, render_motion
>>> model = learn(["squat.mp4"], out="squat.kfm")                 # doctest: +SKIP
>>> result = detect("squat.kfm", "gym.mp4")                        # doctest: +SKIP
>>> result.detected, result.score, result.intervals               # doctest: +SKIP
(True, 0.41, [[30, 212]])
>>> render_motion("walk.bvh", "walk.mp4", RenderOptions(azimuth=30))  # doctest: +SKIP
"""

from keyframe.io.frames import ArrayFrames  # re-exported: the motion API took frames held in memory first
from keyframe.motion.bvh import Joint, Motion, euler_matrices, forward_kinematics, parse_bvh, read_bvh
from keyframe.motion.demo import demo
from keyframe.motion.detect import (DetectConfig, Detection, crop_regions, detect, detect_features, frame_scores, intervals,
                                    score_range)
from keyframe.motion.features import (Extracted, FeatureConfig, FeatureExtractor, Region, Stretch,
                                      body_pose_features, local_standardise, moving_region, moving_regions, pose_features)
from keyframe.motion.journal import Journal
from keyframe.motion.learn import LearnConfig, calibrate, feature_kinds, fusion_weights, learn
from keyframe.motion.model import MovementModel, load_model
from keyframe.motion.plot import draw_scores, plot_detection
from keyframe.motion.predictor import NetConfig, Predictor
from keyframe.motion.render import Renderer, RenderOptions, render_frames, render_motion
from keyframe.motion.search import Search, search
from keyframe.motion.windows import WindowConfig, make_windows, shifted_sequences

__all__ = [
    "ArrayFrames",
    "DetectConfig",
    "Extracted",
    "Detection",
    "FeatureConfig",
    "FeatureExtractor",
    "Joint",
    "Journal",
    "LearnConfig",
    "Motion",
    "MovementModel",
    "NetConfig",
    "Predictor",
    "Region",
    "RenderOptions",
    "Renderer",
    "Search",
    "Stretch",
    "WindowConfig",
    "body_pose_features",
    "calibrate",
    "crop_regions",
    "demo",
    "detect",
    "detect_features",
    "draw_scores",
    "euler_matrices",
    "feature_kinds",
    "forward_kinematics",
    "frame_scores",
    "fusion_weights",
    "intervals",
    "learn",
    "local_standardise",
    "load_model",
    "make_windows",
    "moving_region",
    "moving_regions",
    "parse_bvh",
    "plot_detection",
    "pose_features",
    "read_bvh",
    "render_frames",
    "render_motion",
    "score_range",
    "search",
    "shifted_sequences",
]
