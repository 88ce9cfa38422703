//! Curating subscriptions at the admin endpoint (spec/blocklists.md
//! §12.2d): suggestions and their approval, entries kept after removal,
//! private notes on entries.

use crate::core::Core;
use crate::core::lists::Selection;
use crate::http::ApiError;
use crate::http::extract::Json;
use crate::http::reply::Reply;
use accord_api::curation::{
    DecideRequest, DecideResponse, KeptQuery, KeptResponse, Note, NoteRequest, NotesQuery, NotesResponse,
    SuggestionState, SuggestionsQuery, SuggestionsResponse,
};
use axum::extract::{Query, State};
use std::sync::Arc;

/// `GET /admin/suggestions`: suggestions and notices, of a list or all.
pub async fn suggestions(
    State(state): State<Arc<Core>>,
    Query(q): Query<SuggestionsQuery>,
) -> Result<Reply<SuggestionsResponse>, ApiError> {
    let suggestions = state.lists.suggestions(&state.store, q.list.as_ref(), q.state).await?;
    Ok(Reply(SuggestionsResponse { suggestions }))
}

async fn decide(state: &Core, req: DecideRequest, approve: bool) -> Result<Reply<DecideResponse>, ApiError> {
    let selection = Selection { entries: req.entries, category: req.category, all: req.all };
    let entries = state.lists.decide(&state.store, &req.list, &selection, approve, req.by, req.reason).await?;
    let state = if approve { SuggestionState::Approved } else { SuggestionState::Declined };
    Ok(Reply(DecideResponse { list: req.list, entries, state }))
}

/// `POST /admin/suggestions/approve`: the entries apply before the answer.
pub async fn approve(
    State(state): State<Arc<Core>>,
    Json(req): Json<DecideRequest>,
) -> Result<Reply<DecideResponse>, ApiError> {
    decide(&state, req, true).await
}

/// `POST /admin/suggestions/decline`
pub async fn decline(
    State(state): State<Arc<Core>>,
    Json(req): Json<DecideRequest>,
) -> Result<Reply<DecideResponse>, ApiError> {
    decide(&state, req, false).await
}

/// `GET /admin/kept`: entries kept after their issuer removed them.
pub async fn kept(State(state): State<Arc<Core>>, Query(q): Query<KeptQuery>) -> Result<Reply<KeptResponse>, ApiError> {
    Ok(Reply(KeptResponse { kept: state.lists.kept(&state.store, q.list.as_ref()).await? }))
}

/// `GET /admin/notes`: private notes on a list's entries.
pub async fn notes(
    State(state): State<Arc<Core>>,
    Query(q): Query<NotesQuery>,
) -> Result<Reply<NotesResponse>, ApiError> {
    Ok(Reply(NotesResponse { notes: state.lists.notes(&state.store, &q.list, q.entry).await? }))
}

/// `POST /admin/notes`: adds a private note.
pub async fn add_note(State(state): State<Arc<Core>>, Json(req): Json<NoteRequest>) -> Result<Reply<Note>, ApiError> {
    Ok(Reply(state.lists.add_note(&state.store, &req.list, req.entry, req.text, req.by).await?))
}
