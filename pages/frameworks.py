"""Other frameworks: EU AI Act, NIST AI RMF and ISO/IEC 27001 readiness derived from the 42001 answers through a
mapping set; the requirements 42001 does not cover; one requirement's basis; exports; bring your own mapping."""

import streamlit as st

from dashboard import framework_charts, readiness, ui
from dashboard.frameworks import RELATIONSHIPS, load_frameworks
from dashboard.mapping_store import MappingSetError, sets_for
from dashboard.summarize import escape_markdown
from etl import crosswalk_import
from etl.framework_exports import readiness_file

ui.page_setup()
who = ui.principal()  # downloads are built on click, outside this run: they are handed the person asking
st.title("Other frameworks")
ui.require_data()
sel = ui.filters(key="fw", scope=False)
if not sel.ids:
    ui.no_match()
frameworks = load_frameworks()
left, right = st.columns(2)
if "fw_set_next" in st.session_state:  # a set just imported below is shown, and named in the notice
    st.session_state["fw_framework"], st.session_state["fw_set"] = st.session_state.pop("fw_set_next")
fw = left.selectbox("Framework", list(frameworks), format_func=lambda f: frameworks[f].name, key="fw_framework")
framework, sets = frameworks[fw], {s.id: s for s in ui.query(sets_for, fw)}
set_id = right.selectbox("Mapping set", list(sets), key="fw_set", format_func=lambda s: sets[s].name
                         + (" (ours)" if sets[s].origin == "ours" else " (imported)"))
mapping = sets[set_id]
st.markdown(escape_markdown(f"{framework.title}, {framework.version} · {framework.source}"))
st.info(escape_markdown(f"Every figure below uses the mapping set {mapping.describe()}. Covers {sel.covers}."))
if st.session_state.get("fw_imported"):
    st.success(escape_markdown(st.session_state.pop("fw_imported")))
ui.provenance_notes(sel.ids, sel.round_label)  # the rounds each unit's answers come from; drafts marked provisional
groups = st.multiselect("Only these groups", framework.groups, placeholder="All groups", key="fw_groups")

per_unit = ui.query(readiness.requirement_readiness, sel.ids, fw, set_id)
summary = ui.query(readiness.organisation_readiness, sel.ids, fw, set_id)
if groups:
    per_unit, summary = per_unit[per_unit["group"].isin(groups)], summary[summary["group"].isin(groups)]
st.plotly_chart(framework_charts.readiness_heatmap(per_unit, title=f"Derived readiness · {framework.name} · {sel.covers}"),
                key="fw_heatmap")
st.subheader("Per requirement")
st.caption("Derived maturity = the units' mean; the state columns count units. A requirement is covered when every "
           "applicable 42001 item mapped to it is at target and one of them is equal to it or goes beyond it.")
# on screen the columns that fit 1440 px; each CSV holds every column (ui.table_download(..., shown=...))
ui.table_download(summary.drop(columns=["mapping_set"]), f"{fw}-readiness-summary", key="fw_summary",
                  shown=["requirement", "title", "group", "maturity", "target", "covered", "partial", "missing",
                         "not assessed", "not applicable"])
with st.expander("Per unit and requirement: state and derived maturity"):
    ui.table_download(per_unit.drop(columns=["mapping_set", "assessment_id", "maturity_level"]),
                      f"{fw}-readiness-per-unit", key="fw_per_unit",
                      shown=["unit", "assessment", "requirement", "title", "maturity", "target", "state", "mapped_items",
                             "items_at_target"])

st.subheader("Not covered by 42001: plan these separately")
gaps = ui.query(readiness.uncovered, fw, set_id)
if gaps.empty:
    st.caption("Every requirement has at least one mapped 42001 item in this set.")
else:
    ui.table_download(gaps, f"{fw}-not-covered", key="fw_gaps")

st.subheader("Drill into a requirement")
labels = {r.id: r.label for r in framework.requirements}
requirement = st.selectbox("Requirement", list(labels), format_func=labels.get, key="fw_requirement")
rows = per_unit[per_unit["requirement"] == requirement][["unit", "assessment", "maturity", "target", "state"]]
ui.table(rows, key="fw_requirement_units")
behind = ui.query(readiness.basis, sel.ids, fw, requirement, set_id)
if behind.empty:
    st.caption("No 42001 item is mapped to this requirement in this set.")
else:
    ui.table(behind[["unit", "item_id", "title", "relationship", "rationale", "maturity", "target", "state", "link"]],
             key="fw_basis",  # evidence and justification: behind each answer's link
             overrides={"link": st.column_config.LinkColumn("Answer", display_text="open")})

st.subheader("Export")
cols = st.columns(2)
for column, fmt, mime in ((cols[0], "csv", "text/csv"),
                          (cols[1], "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")):
    column.download_button(f"Download readiness ({fmt.upper()})",
                           lambda fmt=fmt: ui.query(readiness_file, sel.ids, fw, fmt, set_id, principal=who),
                           f"{fw}-readiness.{fmt}", mime=mime, key=f"fw_export_{fmt}", on_click="ignore")
st.code(f"python -m etl frameworks readiness --framework {fw} --set {set_id} --format csv --out {fw}.csv", language="bash")

with st.expander("Bring your own mapping set"):
    st.markdown("A CSV with the columns `source_item, target_item, relationship, rationale` (relationships: "
                + ", ".join(f"*{r}*" for r in RELATIONSHIPS) + ", *no counterpart*), or a CISO Assistant mapping "
                "library (.yaml). It is added beside ours, never in place of it.")
    upload = st.file_uploader("Mapping file", type=["csv", "yaml", "yml"], key="fw_upload")
    a, b = st.columns(2)
    provenance = crosswalk_import.Provenance(
        target_framework=fw, set_id=a.text_input("Set id (blank: from the file)", key="fw_set_id").strip(),
        name=b.text_input("Name", key="fw_set_name").strip(), made_by=a.text_input("Made by", key="fw_made_by").strip(),
        licence=b.text_input("Licence", key="fw_licence").strip(), reviewed_by=a.text_input("Reviewed by", key="fw_reviewed").strip(),
        made_from=b.text_input("Made from", key="fw_made_from").strip())
    replace = st.checkbox("Replace an imported set with the same id", key="fw_replace")
    if upload is not None and st.button("Import the mapping set", key="fw_import"):
        try:
            outcome, added = ui.write(crosswalk_import.import_mapping, upload.name, upload.getvalue(), provenance,
                                      by=ui.sync_identity() or "unknown", replace=replace)
            st.session_state.update(fw_imported=f"{outcome}: {added.describe()}", fw_set_next=(added.target_framework, added.id))
            st.rerun()
        except (crosswalk_import.CrosswalkError, MappingSetError, PermissionError) as exc:  # PermissionError: a role
            st.error(escape_markdown(f"Refused, nothing imported: {exc}"))
