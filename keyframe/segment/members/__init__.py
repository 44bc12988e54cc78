"""The segmentation members; importing this package registers them in ``MEMBERS``."""

from keyframe.segment.members.backsub import BackSubMember
from keyframe.segment.members.cnn import CNNMember
from keyframe.segment.members.flow import FlowMember, propagate_flow_baseline
from keyframe.segment.members.gmm import GMMMember
from keyframe.segment.members.grabcut import GrabCutMember
from keyframe.segment.members.selfie import SelfieMember  # needs mediapipe only when used
from keyframe.segment.members.unet import UNetMember

__all__ = ["BackSubMember", "CNNMember", "FlowMember", "GMMMember", "GrabCutMember", "SelfieMember", "UNetMember", "propagate_flow_baseline"]
