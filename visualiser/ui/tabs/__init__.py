"""One module per tab: layout and event wiring (gradio); the computing lives in ``visualiser.ui.views``."""
