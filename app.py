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

PAGES = {
    "Dashboards": [
        st.Page("pages/overview.py", title="Overview", default=True),
        st.Page("pages/benchmark.py", title="Benchmarking"),
        st.Page("pages/drilldown.py", title="Sections and controls"),
        st.Page("pages/trend.py", title="Trends"),
        st.Page("pages/present.py", title="Presentation"),
        st.Page("pages/frameworks.py", title="Other frameworks"),
    ],
    "Assess": [
        st.Page("pages/units.py", title="Units and rounds"),
        st.Page("pages/campaigns.py", title="Campaigns"),
        st.Page("pages/assess.py", title="Questionnaire"),
        st.Page("pages/interview.py", title="AI-guided interview"),
        st.Page("pages/import_data.py", title="Import"),
        st.Page("pages/proposals.py", title="Proposed answers"),
    ],
    "Act": [
        st.Page("pages/roadmap.py", title="Roadmap"),
        st.Page("pages/summaries.py", title="Summaries"),
    ],
    "Settings": [
        st.Page("pages/settings.py", title="AI settings"),
        st.Page("pages/access.py", title="Access"),
    ],
}

# a read-only (disabled) widget keeps a readable label: Streamlit fades it to 40% (2.6:1 contrast), below WCAG AA
st.html("<style>[data-testid='stWidgetLabel'] p { color: #4a4a4a !important; }</style>")
# sign-in (or local mode), and only the pages this person's role opens; each page refuses the others by URL too
st.navigation(ui.visible_pages(PAGES)).run()
