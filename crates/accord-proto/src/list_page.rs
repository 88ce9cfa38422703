//! Binary pages of a list's leaves on `/accord/list-pages/1`
//! (spec/federation.md §3.13).
//!
//! A subscriber asks an issuer (or a mirror) for the leaves of a list from
//! a log index; the answer is the list's latest signed checkpoint and the
//! leaves as raw bytes, each behind its length: no JSON escaping, and pages
//! four times as long as a `list_entries` answer. Every count and length is
//! bounded and checked before anything is allocated for it, so a hostile
//! peer cannot make the reader allocate more than the frame it sent, which
//! is itself at most [`MAX_PAGE_BYTES`].

use crate::ListId;
use crate::blocklist::checkpoint::SignedCheckpoint;
use crate::limits::{MAX_CHECKPOINT_NOTE, MAX_LIST_ENTRY};

/// The protocol name of list pages between nodes.
pub const LIST_PAGES_PROTOCOL: &str = "/accord/list-pages/1";
/// Most leaves in one page.
pub const MAX_PAGE_LEAVES: usize = 16_384;
/// Largest page on the wire, in bytes (status byte included).
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Longest list id text form in a request, in bytes.
pub const MAX_PAGE_LIST_ID: usize = 255;
/// Largest request on the wire, in bytes.
pub const MAX_PAGE_REQUEST_BYTES: usize = 1 + MAX_PAGE_LIST_ID + 8 + 4;
/// Longest error code in an error answer, in bytes.
pub const MAX_PAGE_ERROR_CODE: usize = 64;
/// Longest error message in an error answer, in bytes of UTF-8.
pub const MAX_PAGE_ERROR_MESSAGE: usize = 1024;

/// Why a list page message does not decode. Every variant has a stable
/// [`code`](ListPageError::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListPageError {
    /// The message is over its size limit (given in bytes).
    #[error("a list page message is at most {0} bytes")]
    TooLarge(usize),
    /// The message ends inside a field.
    #[error("the message ends inside {0}")]
    Truncated(&'static str),
    /// Bytes follow the message's last field.
    #[error("{0} bytes after the last field")]
    TrailingBytes(usize),
    /// A count or a length is outside its bounds.
    #[error("{what} is {got}, outside 1..={max}")]
    BadLength {
        /// The field.
        what: &'static str,
        /// Its value.
        got: u64,
        /// Its largest value.
        max: u64,
    },
    /// The first byte of an answer is no known status.
    #[error("unknown list page status {0}")]
    BadStatus(u8),
    /// A text field is not UTF-8 or not what it must be (a list id, a code).
    #[error("{0} is not valid")]
    BadText(&'static str),
    /// A request stream ended before its first byte: the requester gave
    /// up on the exchange (yamux reads a reset stream as ended), which is
    /// no fault.
    #[error("the request stream ended before any byte was sent")]
    Abandoned,
}

impl ListPageError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ListPageError::TooLarge(_) => "page_too_large",
            ListPageError::Truncated(_) => "page_truncated",
            ListPageError::TrailingBytes(_) => "page_trailing_bytes",
            ListPageError::BadLength { .. } => "page_bad_length",
            ListPageError::BadStatus(_) => "page_bad_status",
            ListPageError::BadText(_) => "page_bad_text",
            ListPageError::Abandoned => "abandoned",
        }
    }

    /// Whether the message counts against the peer that sent it: an
    /// abandoned request does not (spec/federation.md §3.13).
    pub fn is_fault(&self) -> bool {
        !matches!(self, ListPageError::Abandoned)
    }
}

/// A request for a list's leaves from `from` (spec/federation.md §3.13):
/// the list id's length (u8) and text form, `from` (u64, big-endian) and
/// `limit` (u32, big-endian, at least 1; more than [`MAX_PAGE_LEAVES`] is
/// served as that many).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPageRequest {
    /// The list.
    pub list: ListId,
    /// The first index wanted.
    pub from: u64,
    /// Most leaves wanted.
    pub limit: u32,
}

/// Reads big-endian fields off the front of a frame.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ListPageError> {
        if self.rest.len() < n {
            return Err(ListPageError::Truncated(what));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn uint(&mut self, n: usize, what: &'static str) -> Result<u64, ListPageError> {
        Ok(self.take(n, what)?.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)))
    }

    /// A length of `n` bytes that must lie in `min..=max`.
    fn length(&mut self, n: usize, min: u64, max: usize, what: &'static str) -> Result<usize, ListPageError> {
        let got = self.uint(n, what)?;
        if got < min || got > max as u64 {
            return Err(ListPageError::BadLength { what, got, max: max as u64 });
        }
        Ok(got as usize)
    }

    fn text(&mut self, n: usize, what: &'static str) -> Result<&'a str, ListPageError> {
        std::str::from_utf8(self.take(n, what)?).map_err(|_| ListPageError::BadText(what))
    }

    fn end(&self) -> Result<(), ListPageError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(ListPageError::TrailingBytes(n)),
        }
    }
}

impl ListPageRequest {
    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let list = self.list.to_string();
        let mut out = Vec::with_capacity(13 + list.len());
        out.push(list.len() as u8);
        out.extend_from_slice(list.as_bytes());
        out.extend_from_slice(&self.from.to_be_bytes());
        out.extend_from_slice(&self.limit.to_be_bytes());
        out
    }

    /// Reads a request.
    pub fn decode(bytes: &[u8]) -> Result<ListPageRequest, ListPageError> {
        if bytes.len() > MAX_PAGE_REQUEST_BYTES {
            return Err(ListPageError::TooLarge(MAX_PAGE_REQUEST_BYTES));
        }
        if bytes.is_empty() {
            return Err(ListPageError::Abandoned);
        }
        let mut r = Reader { rest: bytes };
        let len = r.length(1, 1, MAX_PAGE_LIST_ID, "the list id's length")?;
        let list = r.text(len, "the list id")?.parse().map_err(|_| ListPageError::BadText("the list id"))?;
        let from = r.uint(8, "from")?;
        let limit = r.length(4, 1, u32::MAX as usize, "limit")? as u32;
        r.end()?;
        Ok(ListPageRequest { list, from, limit })
    }

    /// How many leaves the answer may carry: `limit`, at most
    /// [`MAX_PAGE_LEAVES`].
    pub fn served(&self) -> usize {
        (self.limit as usize).min(MAX_PAGE_LEAVES)
    }
}

/// A page of leaves: the answering node's latest signed checkpoint of the
/// list and leaves in log order from the index asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// The checkpoint.
    pub checkpoint: SignedCheckpoint,
    /// The leaves, each the exact bytes of an entry.
    pub leaves: Vec<Vec<u8>>,
}

/// The answer to a [`ListPageRequest`] (spec/federation.md §3.13): a status
/// byte, then a page (0) or an error (1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListPageResponse {
    /// Status 0: a page.
    Page(ListPage),
    /// Status 1: the request was refused, with a stable code (the codes of
    /// a federation `error`) and a message.
    Error {
        /// The code, 1 to [`MAX_PAGE_ERROR_CODE`] bytes of `a-z` and `_`.
        code: String,
        /// A human-readable message, at most [`MAX_PAGE_ERROR_MESSAGE`] bytes.
        message: String,
    },
}

impl ListPage {
    /// A page of `checkpoint` and the first of `leaves` that fit: at most
    /// [`MAX_PAGE_LEAVES`] and [`MAX_PAGE_BYTES`] on the wire; it stops
    /// before the first leaf that does not fit (or is empty or longer than
    /// an entry may be).
    pub fn filled(checkpoint: SignedCheckpoint, leaves: impl IntoIterator<Item = Vec<u8>>) -> ListPage {
        let mut size = 1 + 2 + checkpoint.note().len() + 4;
        let mut taken = Vec::new();
        for leaf in leaves.into_iter().take(MAX_PAGE_LEAVES) {
            if leaf.is_empty() || leaf.len() > MAX_LIST_ENTRY || size + 2 + leaf.len() > MAX_PAGE_BYTES {
                break;
            }
            size += 2 + leaf.len();
            taken.push(leaf);
        }
        ListPage { checkpoint, leaves: taken }
    }
}

impl ListPageResponse {
    /// The wire bytes. A page is written as it is: one made with
    /// [`ListPage::filled`] is within the limits.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ListPageResponse::Page(page) => {
                let note = page.checkpoint.note().as_bytes();
                let size = 1 + 2 + note.len() + 4 + page.leaves.iter().map(|l| 2 + l.len()).sum::<usize>();
                let mut out = Vec::with_capacity(size);
                out.push(0);
                out.extend_from_slice(&(note.len() as u16).to_be_bytes());
                out.extend_from_slice(note);
                out.extend_from_slice(&(page.leaves.len() as u32).to_be_bytes());
                for leaf in &page.leaves {
                    out.extend_from_slice(&(leaf.len() as u16).to_be_bytes());
                    out.extend_from_slice(leaf);
                }
                out
            }
            ListPageResponse::Error { code, message } => {
                let mut out = Vec::with_capacity(4 + code.len() + message.len());
                out.push(1);
                out.push(code.len() as u8);
                out.extend_from_slice(code.as_bytes());
                out.extend_from_slice(&(message.len() as u16).to_be_bytes());
                out.extend_from_slice(message.as_bytes());
                out
            }
        }
    }

    /// An error answer; the code and message are cut to their limits.
    pub fn error(code: &str, message: &str) -> ListPageResponse {
        let code: String =
            code.chars().filter(|c| c.is_ascii_lowercase() || *c == '_').take(MAX_PAGE_ERROR_CODE).collect();
        let mut end = message.len().min(MAX_PAGE_ERROR_MESSAGE);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let code = if code.is_empty() { "internal".to_owned() } else { code };
        ListPageResponse::Error { code, message: message[..end].to_owned() }
    }

    /// Reads an answer of at most [`MAX_PAGE_BYTES`]. Nothing is allocated
    /// for a leaf before its bytes are known to be in the frame.
    pub fn decode(bytes: &[u8]) -> Result<ListPageResponse, ListPageError> {
        if bytes.len() > MAX_PAGE_BYTES {
            return Err(ListPageError::TooLarge(MAX_PAGE_BYTES));
        }
        let mut r = Reader { rest: bytes };
        let status = r.uint(1, "the status")? as u8;
        let response = match status {
            0 => {
                let len = r.length(2, 1, MAX_CHECKPOINT_NOTE, "the checkpoint's length")?;
                let note = r.text(len, "the checkpoint")?;
                let count = r.length(4, 0, MAX_PAGE_LEAVES, "the leaf count")?;
                // Each leaf takes at least three bytes of the frame.
                if count > r.rest.len() / 3 {
                    return Err(ListPageError::Truncated("the leaves"));
                }
                let mut leaves = Vec::with_capacity(count);
                for _ in 0..count {
                    let len = r.length(2, 1, MAX_LIST_ENTRY, "a leaf's length")?;
                    leaves.push(r.take(len, "a leaf")?.to_vec());
                }
                ListPageResponse::Page(ListPage { checkpoint: SignedCheckpoint::from_note(note), leaves })
            }
            1 => {
                let len = r.length(1, 1, MAX_PAGE_ERROR_CODE, "the error code's length")?;
                let code = r.text(len, "the error code")?;
                if !code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                    return Err(ListPageError::BadText("the error code"));
                }
                let len = r.length(2, 0, MAX_PAGE_ERROR_MESSAGE, "the error message's length")?;
                let message = r.text(len, "the error message")?;
                ListPageResponse::Error { code: code.to_owned(), message: message.to_owned() }
            }
            other => return Err(ListPageError::BadStatus(other)),
        };
        r.end()?;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IssuerId, SecretKey};

    fn list() -> ListId {
        ListId { issuer: IssuerId::from(SecretKey::from_seed([5; 32]).public()), name: "spam".parse().unwrap() }
    }

    fn page(leaves: Vec<Vec<u8>>) -> ListPageResponse {
        ListPageResponse::Page(ListPage { checkpoint: SignedCheckpoint::from_note("note\n\n— x y\n"), leaves })
    }

    #[test]
    fn requests_and_answers_round_trip() {
        let request = ListPageRequest { list: list(), from: 7, limit: 100_000 };
        assert_eq!(ListPageRequest::decode(&request.encode()).unwrap(), request);
        assert_eq!(request.served(), MAX_PAGE_LEAVES);
        for response in [
            page(vec![b"a".to_vec(), b"{\"op\"}".to_vec()]),
            page(vec![]),
            ListPageResponse::error("unknown_list", "no"),
        ] {
            assert_eq!(ListPageResponse::decode(&response.encode()).unwrap(), response);
        }
    }

    #[test]
    fn bad_requests_are_refused_with_their_codes() {
        let good = ListPageRequest { list: list(), from: 7, limit: 1 }.encode();
        let code = |b: &[u8]| ListPageRequest::decode(b).unwrap_err().code();
        assert_eq!(code(&good[..good.len() - 1]), "page_truncated");
        assert_eq!(code(&[&good[..], &[0]].concat()), "page_trailing_bytes");
        assert_eq!(code(&[&good[..good.len() - 4], &[0, 0, 0, 0][..]].concat()), "page_bad_length");
        assert_eq!(code(&[0]), "page_bad_length");
        assert!(ListPageRequest::decode(&[0]).unwrap_err().is_fault());
        // A stream that ended before its first byte: given up, no fault.
        assert_eq!(ListPageRequest::decode(&[]), Err(ListPageError::Abandoned));
        assert_eq!(code(&[]), "abandoned");
        assert!(!ListPageRequest::decode(&[]).unwrap_err().is_fault());
        assert_eq!(code(&vec![1; MAX_PAGE_REQUEST_BYTES + 1]), "page_too_large");
        let mut bad_id = good.clone();
        bad_id[1] = b'X';
        assert_eq!(code(&bad_id), "page_bad_text");
    }

    #[test]
    fn bad_pages_are_refused_with_their_codes() {
        let good = page(vec![b"leaf".to_vec()]).encode();
        let code = |b: &[u8]| ListPageResponse::decode(b).unwrap_err().code();
        assert_eq!(code(&good[..good.len() - 1]), "page_truncated");
        assert_eq!(code(&[&good[..], &[0]].concat()), "page_trailing_bytes");
        assert_eq!(code(&[2]), "page_bad_status");
        assert_eq!(code(&vec![0; MAX_PAGE_BYTES + 1]), "page_too_large");
        // A count over the limit, and a count the frame cannot hold.
        let head = 1 + 2 + "note\n\n— x y\n".len();
        let with_count = |n: u32| [&good[..head], &n.to_be_bytes()[..]].concat();
        assert_eq!(code(&with_count(MAX_PAGE_LEAVES as u32 + 1)), "page_bad_length");
        assert_eq!(code(&with_count(1000)), "page_truncated");
        // A leaf longer than an entry may be.
        let long = page(vec![vec![b'x'; MAX_LIST_ENTRY + 1]]).encode();
        assert_eq!(code(&long), "page_bad_length");
    }

    #[test]
    fn a_filled_page_stops_at_its_limits() {
        let checkpoint = SignedCheckpoint::from_note("n");
        let many = ListPage::filled(checkpoint.clone(), (0..MAX_PAGE_LEAVES + 5).map(|_| b"x".to_vec()));
        assert_eq!(many.leaves.len(), MAX_PAGE_LEAVES);
        let big = ListPage::filled(checkpoint, (0..2000).map(|_| vec![b'x'; MAX_LIST_ENTRY]));
        let encoded = ListPageResponse::Page(big.clone()).encode();
        assert!(encoded.len() <= MAX_PAGE_BYTES && big.leaves.len() < 2000);
        assert_eq!(ListPageResponse::decode(&encoded).unwrap(), ListPageResponse::Page(big));
    }
}
