"""Frames, videos and masks in and out; every output is written atomically."""

from keyframe.io.atomic import atomic_path, check_writable, file_stamp, input_identity, partial_dir, staged_dir, write_json
from keyframe.io.frames import (ArrayFrames, FolderSource, Frame, FrameSource, SteppedFrames, VideoSource, describe,
                                encode_frames, open_frames)
from keyframe.io.images import (grow_segments, image_size, list_images, mask_folder, mask_size, read_image, read_mask,
                                read_masks, write_image, write_mask)
from keyframe.io.video import ExtractOptions, VideoInfo, VideoWriter, extract_frames, frame_seconds, probe, write_video

__all__ = [
    "ArrayFrames",
    "ExtractOptions",
    "FolderSource",
    "Frame",
    "FrameSource",
    "SteppedFrames",
    "VideoInfo",
    "VideoSource",
    "VideoWriter",
    "atomic_path",
    "check_writable",
    "describe",
    "encode_frames",
    "extract_frames",
    "file_stamp",
    "frame_seconds",
    "grow_segments",
    "image_size",
    "input_identity",
    "list_images",
    "mask_folder",
    "mask_size",
    "open_frames",
    "partial_dir",
    "probe",
    "read_image",
    "read_mask",
    "read_masks",
    "staged_dir",
    "write_image",
    "write_json",
    "write_mask",
    "write_video",
]
