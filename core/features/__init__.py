"""Features from flow and video: the extractor and its config, windows, feature files, the RGB stream, data folders."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "extractor": ["DynamicFeatureExtractor"],
    "config": ["ExtractorConfig", "load_config"],
    "sequences": ["OpticalFlowSequenceLoader", "Window", "make_windows", "cut_window", "preprocess_flow"],
    "store": ["FeatureSet", "read_features", "write_features"],
    "rgb_stream": ["RGBStream", "kinetics400_labels"],
    "folders": ["find_sequences", "extract_folder"],
})
