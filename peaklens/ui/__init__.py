"""The Streamlit UI: ``app.py`` is the page, the other modules are plain functions it calls."""
