"""Entry point: `python -m streamlit run app.py`. Lists the pages; each page lives in pages/."""

import sys
from pathlib import Path

# `streamlit run` (the console script) does not put the repository on sys.path; make the core importable
ROOT = str(Path(__file__).resolve().parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402

from dashboard import ui  # noqa: E402

st.set_page_config(page_title="AIMS gap assessment · ISO/IEC 42001", layout="wide")

# group -> (page file, title); the first page is the default. ui.visible_pages makes the st.Page objects for the
# pages this person's role opens.
PAGES = {
    "Dashboards": [
        ("pages/overview.py", "Overview"),
        ("pages/benchmark.py", "Benchmarking"),
        ("pages/drilldown.py", "Sections and controls"),
        ("pages/trend.py", "Trends"),
        ("pages/present.py", "Presentation"),
        ("pages/frameworks.py", "Other frameworks"),
    ],
    "Assess": [
        ("pages/units.py", "Units and rounds"),
        ("pages/campaigns.py", "Campaigns"),
        ("pages/assess.py", "Questionnaire"),
        ("pages/interview.py", "AI-guided interview"),
        ("pages/import_data.py", "Import"),
        ("pages/proposals.py", "Proposed answers"),
    ],
    "Act": [
        ("pages/roadmap.py", "Roadmap"),
        ("pages/summaries.py", "Summaries"),
    ],
    "Settings": [
        ("pages/settings.py", "AI settings"),
        ("pages/access.py", "Access"),
    ],
}

# a read-only (disabled) widget keeps a readable label: Streamlit fades it to 40% (2.6:1 contrast), below WCAG AA
st.html("<style>[data-testid='stWidgetLabel'] p { color: #4a4a4a !important; }</style>")
# sign-in (or local mode), and only the pages this person's role opens; each page refuses the others by URL too
st.navigation(ui.visible_pages(PAGES)).run()
