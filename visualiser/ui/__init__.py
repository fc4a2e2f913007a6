"""The Gradio front end: ``shell`` builds the app, ``tabs`` lay out and wire each tab, ``views`` compute (no gradio).

Only this package and ``app.py`` import gradio; ``views`` does not, so every view is testable as a function.
"""
