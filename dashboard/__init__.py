"""The core library of the ISO/IEC 42001 gap-assessment dashboard (no Streamlit outside `ui.py`)."""
