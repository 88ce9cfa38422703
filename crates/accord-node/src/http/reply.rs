//! Answers: accord-api's response types, written as the node has always
//! written its JSON (through `serde_json::Value`, keys in sorted order),
//! and the node's timeline items as the wire's.

use crate::core::rooms::TimelineItem;
use accord_api::events::SendEventResponse;
use accord_api::rooms::{self, ItemContent};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A successful answer of type `T` (an accord-api response type).
pub struct Reply<T>(pub T);

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        match serde_json::to_value(&self.0) {
            Ok(value) => axum::Json(value).into_response(),
            Err(e) => super::ApiError::internal(format!("writing an answer: {e}")).into_response(),
        }
    }
}

/// A send receipt (`POST /v1/events`), the same bytes as a [`Reply`]
/// writes, without building a `serde_json::Value` first
/// ([`super::sorted`]).
pub struct ReceiptReply(pub SendEventResponse);

impl IntoResponse for ReceiptReply {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], super::sorted::receipt(&self.0)).into_response()
    }
}

/// A timeline item as the wire carries it: its event, or the entry that
/// hides it. An item with neither (a purged event whose stored reason
/// does not read back) is not shown.
pub fn wire_item(item: TimelineItem) -> Option<rooms::TimelineItem> {
    let content = match (item.hidden, item.event) {
        (Some(provenance), _) => ItemContent::Hidden(Box::new(provenance)),
        (None, Some(event)) => ItemContent::Event(Box::new(event)),
        (None, None) => {
            tracing::warn!(cursor = item.cursor, "a timeline item with neither event nor reason is not served");
            return None;
        }
    };
    Some(rooms::TimelineItem { cursor: item.cursor, content, accepted: item.accepted, redacted: item.redacted })
}
