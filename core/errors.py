"""Exception types raised by `core`; each names what was wrong and what to do.

Every error the library raises on bad input derives from `DFEError`, so callers (the CLI, the
dashboard) can catch one type and show its message instead of a traceback.
"""


class DFEError(Exception):
    """Base of every error `core` raises on bad input or bad state."""


class VideoError(DFEError):
    """A video could not be used."""


class VideoNotFoundError(VideoError, FileNotFoundError):
    """The path does not exist, is not a file, or cannot be read."""


class NotAVideoError(VideoError):
    """The file is not a video container OpenCV/ffmpeg can read (an image, a text file, ...)."""


class CorruptVideoError(VideoError):
    """The file looks like a video but is truncated or damaged."""


class EmptyVideoError(VideoError):
    """The video decodes to zero frames."""


class TooFewFramesError(VideoError):
    """The video has fewer frames than the operation needs (flow needs two)."""


class FlowError(DFEError):
    """Optical flow input or output is invalid."""


class UnknownFlowMethodError(FlowError, KeyError):
    """The optical-flow method name is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class FlowShapeError(FlowError, ValueError):
    """An array does not have the shape or dtype that was documented."""


class InvalidFlowValuesError(FlowError, ValueError):
    """Flow contains NaN or infinite values."""


class FlowFileError(FlowError):
    """A flow file is missing, truncated, or not in the expected format."""


class SequenceError(DFEError, ValueError):
    """A window/sequence request cannot be satisfied (too short, bad length or stride)."""


class ConfigError(DFEError, ValueError):
    """A configuration file or setting is missing, malformed, or has unknown keys or wrong types."""


class FolderNotFoundError(DFEError, FileNotFoundError):
    """An input folder does not exist."""


class FrameError(VideoError, ValueError):
    """A frame cannot be prepared as asked (too small to crop, an index outside the video)."""


class VideoWriteError(VideoError, ValueError):
    """Frames cannot be written as a video (unsupported extension, odd size, no frames)."""


class FlowParameterError(FlowError, ValueError):
    """A flow method's parameter, a method registration or a flow format is not valid."""


class AssetError(DFEError):
    """A file the project ships (e.g. the Kinetics label list) is missing or malformed."""


class JobTimeoutError(DFEError, TimeoutError):
    """A background job did not finish in the time given."""
