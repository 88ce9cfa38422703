//! # accord-api
//!
//! The wire types of Accord's client API (`spec/client-api.md`), its
//! reports and moderation routes (`spec/reports.md` §11–§13) and the
//! operator's admin endpoint (`spec/blocklists.md` §12, `spec/reports.md`
//! §12, `spec/federation.md` §9): every request and response body exists
//! once, here, and both sides use it — the node serializes responses and
//! deserializes requests, clients do the opposite.
//!
//! Each endpoint is a unit type implementing [`Endpoint`], next to its
//! bodies: its [`Metadata`] (method, path, who may call it) and its
//! `Request` and `Response` types. Errors are one [`ErrorBody`] with a
//! typed [`ErrorCode`] whose [`status`](ErrorCode::status) is the HTTP
//! status the node answers it with.
//!
//! Conventions, so that one type serves both sides:
//!
//! - Request bodies and queries refuse unknown fields
//!   (`deny_unknown_fields`), as the node does; responses accept them, so
//!   that a client can read a newer node.
//! - Fields are declared in the order the spec documents them. The node
//!   today serializes every body through `serde_json::Value`, whose map
//!   sorts keys; `serde_json::to_value(&response)` gives exactly those
//!   bytes.
//! - Signed objects stay in their signed form ([`Unverified`],
//!   [`UnverifiedEvent`]) until the receiver verifies them.
//!
//! The crate has no HTTP, async or server dependency: only the protocol
//! types of `accord-proto` and serde.
//!
//! [`Unverified`]: accord_proto::Unverified
//! [`UnverifiedEvent`]: accord_proto::event::UnverifiedEvent
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod lenient;

pub mod account;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod curation;
pub mod error;
pub mod events;
pub mod health;
pub mod identities;
pub mod media;
pub mod moderation;
pub mod names;
pub mod node;
pub mod provenance;
pub mod register;
pub mod reports;
pub mod rooms;
pub mod stream;
pub mod teams;

pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use provenance::Provenance;

/// An HTTP method of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: no body; parameters in the path and query.
    Get,
    /// `POST`: a JSON body.
    Post,
}

impl Method {
    /// The method's name, `GET` or `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Anyone (spec/client-api.md).
    Public,
    /// A session: `Authorization: Bearer TOKEN` from `POST /v1/auth/login`
    /// (spec/client-api.md §2); `401 unauthenticated` without.
    Session,
    /// A session of one of the node's moderator accounts (spec/reports.md
    /// §11); `403 not_moderator` for other accounts.
    Moderator,
    /// The operator: served on the node's admin listener only (the client
    /// API's answers `404 not_found`), to a loopback client with the data
    /// directory's admin token, or with a dashboard session opened with it
    /// and the header `X-Accord-Dashboard: 1` (spec/blocklists.md §12.1,
    /// §12.1a); `403 forbidden` otherwise.
    Admin,
}

/// What one endpoint is: its method, its path and who may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Metadata {
    /// The HTTP method.
    pub method: Method,
    /// The path, with parameters in braces: `/v1/rooms/{room}/events`.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
}

impl Metadata {
    /// Whether the endpoint needs a session token (moderator routes do too).
    pub fn needs_session(&self) -> bool {
        matches!(self.access, Access::Session | Access::Moderator)
    }

    /// The path's segments with each `{parameter}` replaced, in order, by
    /// one of `params`: `segments(&["room1…"])` of `/v1/rooms/{room}` is
    /// `["v1", "rooms", "room1…"]`. A parameter without a value is left as
    /// it is; values beyond the path's parameters are ignored.
    pub fn segments<'a>(&self, params: &[&'a str]) -> Vec<&'a str> {
        let mut params = params.iter();
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| if s.starts_with('{') { params.next().copied().unwrap_or(s) } else { s })
            .collect()
    }
}

/// One endpoint of the API: its metadata and its bodies.
pub trait Endpoint {
    /// Method, path, access.
    const METADATA: Metadata;
    /// What the client sends: the JSON body of a `POST`, the query of a
    /// `GET` (`()` for none).
    type Request;
    /// What the node answers with `200`.
    type Response;
}

/// Declares an endpoint's unit type and its [`Endpoint`] implementation.
macro_rules! endpoint {
    ($(#[$doc:meta])* $name:ident = $method:ident $path:literal, $access:ident, $request:ty => $response:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name;

        impl $crate::Endpoint for $name {
            const METADATA: $crate::Metadata =
                $crate::Metadata { method: $crate::Method::$method, path: $path, access: $crate::Access::$access };
            type Request = $request;
            type Response = $response;
        }
    };
}
pub(crate) use endpoint;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_fill_the_parameters_in_order() {
        let m = Metadata { method: Method::Get, path: "/v1/rooms/{room}/events", access: Access::Session };
        assert_eq!(m.segments(&["room1x"]), vec!["v1", "rooms", "room1x", "events"]);
        assert_eq!(m.segments(&[]), vec!["v1", "rooms", "{room}", "events"]);
        assert!(m.needs_session());
    }
}
