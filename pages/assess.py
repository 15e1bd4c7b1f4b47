"""The questionnaire: one section at a time, every answer saved as it is given; the result at the end."""

import streamlit as st

from dashboard import proposals, rounds, scoring, store, ui

ui.page_setup()
st.title("Questionnaire")
user = ui.identity_box()
catalog = ui.catalog()
assessments = ui.query("assessments")  # only the units this person may see
if assessments.empty:
    st.info("No assessment yet. Start one on the Units and rounds page.")
    st.page_link("pages/units.py", label="Units and rounds")
    st.stop()

ids = assessments["id"].tolist()
wanted = st.query_params.get("assessment") or st.session_state.get("current_assessment")
start = ids.index(int(wanted)) if wanted and str(wanted).isdigit() and int(wanted) in ids else 0
labels = {r.id: f"{r.unit} · {r.label} · {r.scope} · {r.status}" for r in assessments.itertuples()}
chosen = st.sidebar.selectbox("Assessment", ids, index=start, format_func=labels.get, key="assess_pick")
st.query_params["assessment"] = str(chosen)  # a reload or a reopened link resumes here
assessment = ui.query(store.get_assessment, chosen)
readonly = assessment.is_final or not user
ui.flash()
if assessment.is_final:
    st.info("This round is finalised and read-only. Start a new round to change it.")
elif not user:
    st.warning("Type your name in the sidebar to answer: it is recorded with every change.")

sections = ui.query(scoring.section_scores, [chosen])
total = ui.query(scoring.assessment_scores, [chosen]).iloc[0]
st.caption(f"{assessment.unit} · round {assessment.label} · assessed {assessment.assessed_on or '—'} · "
           f"catalog {assessment.catalog_version}")
st.progress(float(total["completeness"] or 0), text=f"{int(total['assessed'])} of {int(total['applicable'])} "
            "applicable items assessed")
waiting = ui.query(proposals.proposals, [chosen])  # levels proposed from an ISO/IEC 27001 assessment: not answers yet
if not waiting.empty and not assessment.is_final:
    st.page_link("pages/proposals.py", icon=":material/pending_actions:",
                 label=f"{len(waiting)} level(s) proposed from ISO/IEC 27001 for this round ({', '.join(waiting['item_id'])}): "
                       "accept or change them on Proposed answers; they count nowhere until then")
review, comments = ui.review_panel(assessment, user)  # a campaign round: its review state, Submit, lead's comments
readonly = readonly or (review == "submitted" and not ui.principal().can_organise)

# only the chosen view runs (tabs would compute the result and the SoA on every answer)
view = st.segmented_control("View", ["Answer", "Result", "Statement of Applicability"], default="Answer",
                            key=f"view_{chosen}", label_visibility="collapsed") or "Answer"
if view == "Answer":
    item_link = st.query_params.get("item")  # a citation's link (?assessment=ID&item=A.5.2) opens that item's section
    if item_link in catalog.by_id and st.session_state.get("_followed_link") != (chosen, item_link):
        st.session_state["_followed_link"] = (chosen, item_link)
        st.session_state[f"section_{chosen}"] = catalog.by_id[item_link].section
    # labels without counts: a label that changed with an answer made the next answer jump back to section 4
    progress = {r.section: f"{r.section} {r.section_title}" for r in sections.itertuples()}
    section = st.selectbox("Section", list(progress), format_func=progress.get, key=f"section_{chosen}")
    row = sections[sections["section"] == section].iloc[0]
    st.progress(float(row["completeness"] or 0) if row["applicable"] else 1.0,
                text=f"Section {section}: {row['assessed']} of {row['applicable']} applicable items assessed")
    responses = ui.query(store.responses, assessment_ids=[chosen])
    compact = ui.compact_mode()  # one line per item, or the full editor; kept for the session
    previous = ui.previous_answers(chosen) if compact else {}  # the unit's previous round: one click keeps an answer
    for item_row in responses[responses["section"] == section].itertuples(index=False):
        if compact:
            ui.item_comments(comments, item_row.item_id)  # a returned round's comments show in either mode
            ui.compact_item_editor(assessment, item_row._asdict(), catalog.by_id[item_row.item_id], readonly=readonly,
                                   previous=previous.get(item_row.item_id))
            continue
        with st.container(border=True):
            ui.item_comments(comments, item_row.item_id)
            ui.item_editor(assessment, item_row._asdict(), catalog.by_id[item_row.item_id], readonly=readonly)
    position = list(progress).index(section)
    if position + 1 < len(progress):
        next_section = list(progress)[position + 1]
        st.button(f"Next: section {next_section}", key="next_section",
                  on_click=lambda: st.session_state.update({f"section_{chosen}": next_section}))

elif view == "Result":
    ui.assessment_result(assessment, sections)
    blockers = ui.query(rounds.finalise_blockers, chosen)
    if review is not None and not assessment.is_final:
        st.caption("This round belongs to a campaign: the governance lead finalises it on the Campaigns page after review.")
    elif not assessment.is_final:
        if blockers:
            st.caption("Finalising needs: " + "; ".join(blockers))
        if st.button("Finalise this round", disabled=bool(blockers) or not user, key="finalise"):
            ui.write(rounds.finalise, chosen, by=user)
            st.rerun()

else:  # every Annex A control: included or not, the justification either way, implemented or not
    ui.statement_of_applicability(chosen)
