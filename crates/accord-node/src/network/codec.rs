//! The `/accord/federation/1` codec: a JSON request, then a JSON response,
//! each the whole of its half of the stream (spec/federation.md §1.2).
//!
//! The bytes are decoded by accord-proto's [`FedRequest::decode`] and
//! [`FedResponse::decode`] (fuzzed there, `fuzz/`). Unlike libp2p's stock
//! JSON codec, a request that does not decode or is over the size limit is
//! not a silent stream failure: it becomes [`Wire::Invalid`], so the node
//! answers it with an error and counts it against the peer.

use crate::metrics::FedTraffic;
use accord_proto::federation::{FedRequest, FedResponse, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use std::io;

/// A request as read from a peer.
#[derive(Debug)]
pub enum Wire {
    /// A well-formed request.
    Valid(FedRequest),
    /// A request that could not be read as one.
    Invalid {
        /// `too_large`, `bad_request` or `abandoned`.
        code: &'static str,
        /// What was wrong.
        detail: String,
        /// Whether it counts against the peer (an abandoned request
        /// does not).
        fault: bool,
    },
}

/// Reads and writes federation messages, counting them.
#[derive(Debug, Clone, Default)]
pub struct FedCodec {
    traffic: FedTraffic,
}

impl FedCodec {
    /// A codec that counts what it reads and writes in `traffic`.
    pub fn new(traffic: FedTraffic) -> FedCodec {
        FedCodec { traffic }
    }

    /// Writes `bytes` and counts them.
    async fn write_counted<T: AsyncWrite + Unpin + Send>(&self, io: &mut T, bytes: &[u8]) -> io::Result<()> {
        io.write_all(bytes).await?;
        self.traffic.bytes_sent.inc_by(bytes.len() as u64);
        Ok(())
    }
}

/// Reads to the end of the stream, at most `limit` bytes and one more (so
/// that an over-long message is seen and refused by its decoder).
async fn read_bounded<T: AsyncRead + Unpin + Send>(io: &mut T, limit: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    io.take(limit + 1).read_to_end(&mut buf).await?;
    Ok(buf)
}

impl libp2p::request_response::Codec for FedCodec {
    type Protocol = StreamProtocol;
    type Request = Wire;
    type Response = FedResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Wire>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_bounded(io, MAX_REQUEST_BYTES).await?;
        self.traffic.requests_received.inc();
        self.traffic.bytes_received.inc_by(bytes.len() as u64);
        Ok(match FedRequest::decode(&bytes) {
            Ok(request) => Wire::Valid(request),
            Err(e) => Wire::Invalid { code: e.code(), detail: e.to_string(), fault: e.is_fault() },
        })
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<FedResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_bounded(io, MAX_RESPONSE_BYTES).await?;
        self.traffic.bytes_received.inc_by(bytes.len() as u64);
        FedResponse::decode(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, request: Wire) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let Wire::Valid(request) = request else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "only valid requests are sent"));
        };
        self.traffic.requests_sent.inc();
        self.write_counted(io, &serde_json::to_vec(&request)?).await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, io: &mut T, response: FedResponse) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.write_counted(io, &serde_json::to_vec(&response)?).await
    }
}
