//! The live stream's WebSocket frames (spec/client-api.md §6).

use crate::error::ErrorDetail;
use crate::events::SendEventResponse;
use crate::rooms::TimelineItem;
use accord_proto::{RoomId, SignedBytes};
use serde::{Deserialize, Serialize};

crate::endpoint! {
    /// `GET /v1/stream`: upgrades to a WebSocket carrying [`ClientFrame`]s
    /// and [`ServerFrame`]s as JSON text (spec/client-api.md §6). The
    /// session token may also be given as `?token=TOKEN` here.
    Stream = Get "/v1/stream", Session, () => ()
}

/// Client → node frames (spec/client-api.md §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Send every event of the room with a cursor greater than `after`,
    /// then every new one as it is stored.
    Subscribe {
        /// The room.
        room: RoomId,
        /// The last cursor the client holds (default 0).
        #[serde(default)]
        after: u64,
    },
    /// Stop sending the room's events.
    Unsubscribe {
        /// The room.
        room: RoomId,
    },
    /// Submit an event, as `POST /v1/events` does; answered by a
    /// [`ServerFrame::Sent`] or [`ServerFrame::NotSent`] with the same `id`.
    Send {
        /// The client's number for this send, echoed in the answer.
        id: u64,
        /// The `EventBody`, signed by the session's account.
        event: Box<SignedBytes>,
        /// Nodes that hold the room, as in `POST /v1/events`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        via: Vec<String>,
    },
}

/// The largest frame a client may send, in bytes (spec/client-api.md §6):
/// room for a `send` of the largest event.
pub const MAX_CLIENT_FRAME: usize = 64 * 1024;

/// Sends one connection may have in flight; the node reads no further
/// frame of the connection until one of them is answered.
pub const MAX_SENDS_IN_FLIGHT: usize = 32;

/// Why a client's frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is over [`MAX_CLIENT_FRAME`] bytes.
    #[error("frames are limited to {MAX_CLIENT_FRAME} bytes")]
    TooLarge,
    /// Not JSON of a client frame (see the message).
    #[error("{0}")]
    Malformed(String),
}

impl FrameError {
    /// The error code the node answers with: `too_large` or `malformed`.
    pub fn code(&self) -> crate::ErrorCode {
        match self {
            FrameError::TooLarge => crate::ErrorCode::TooLarge,
            FrameError::Malformed(_) => crate::ErrorCode::Malformed,
        }
    }
}

impl ClientFrame {
    /// Decodes the text of a WebSocket message from a client, as the node
    /// does.
    pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
        if text.len() > MAX_CLIENT_FRAME {
            return Err(FrameError::TooLarge);
        }
        serde_json::from_str(text).map_err(|e| FrameError::Malformed(e.to_string()))
    }
}

/// Node → client frames (spec/client-api.md §6). A frame type this crate
/// does not know reads as [`ServerFrame::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// One cursor of a subscribed room, in ascending order per room, each
    /// exactly once, hidden items included.
    Event {
        /// The room.
        room: RoomId,
        /// The item.
        item: Box<TimelineItem>,
    },
    /// The client fell behind the live feed; the node continues from its
    /// store after `resume_from`, skipping nothing.
    Lagged {
        /// The room.
        room: RoomId,
        /// The last cursor sent before the node went back to its store.
        resume_from: u64,
    },
    /// A refusal; the connection stays open. `not_member` after the
    /// account left a subscribed room ends that room's events.
    Error {
        /// What went wrong.
        error: ErrorDetail,
    },
    /// The event of the client's `send` numbered `id` is stored: the same
    /// receipt as `POST /v1/events` answers.
    Sent {
        /// The client's number for the send.
        id: u64,
        /// The receipt.
        receipt: Box<SendEventResponse>,
    },
    /// The client's `send` numbered `id` was refused, with the error
    /// `POST /v1/events` would answer; nothing was stored.
    NotSent {
        /// The client's number for the send.
        id: u64,
        /// Why.
        error: ErrorDetail,
    },
    /// A frame of a type this crate does not know (never sent).
    #[serde(other, skip_serializing)]
    Unknown,
}
