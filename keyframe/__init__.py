"""keyframe: learn a video from a few frames a person gives it."""

__version__ = "0.1.0"
