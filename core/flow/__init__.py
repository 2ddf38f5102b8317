"""Optical flow: OpenCV's methods, flow of frame pairs and videos, flow files, and flow stored on disk with its time base."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "computer": ["OpticalFlowComputer"],
    "methods": ["FLOW_METHODS", "FlowMethod", "get_method", "register"],
    "formats": ["check_flow", "load_flow_npy", "npy_shape", "read_flo", "write_flo", "read_jpeg_pairs", "write_jpeg_pairs", "NpyStreamWriter"],
    "store": ["FLOW_FORMATS", "FlowRecord", "SourceFingerprint", "find_complete", "load_flow", "remove_flow"],
    "pipeline": ["FlowJob", "FlowResult", "compute_video_flow", "find_videos"],
    "accuracy": ["end_point_error", "load_middlebury_pairs"],
    "tvl1": ["TVL1Parameters", "tvl1_flow"],
})
