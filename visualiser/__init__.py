"""attention-visualiser: see what SE, CBAM and ECA gates do inside a CNN, and how 3D convolution slides over a clip."""

__version__ = "0.1.0"
