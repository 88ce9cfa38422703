//! The codec of the binary protocols beside `/accord/federation/1`:
//! `/accord/media/1` (spec/federation.md §10) and `/accord/list-pages/1`
//! (§3.13). A request and a response are each the whole of their half of
//! the stream, as bytes bounded by the protocol's largest sizes; the node
//! decodes them with accord-proto's `MediaRequest` and `MediaResponse`,
//! `ListPageRequest` and `ListPageResponse`.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use std::io;

/// Reads and writes a protocol's messages as bytes.
#[derive(Debug, Clone, Copy)]
pub struct BytesCodec {
    /// The largest request, in bytes.
    pub request_limit: usize,
    /// The largest response, in bytes.
    pub response_limit: usize,
}

/// Reads to the end of the stream, at most `limit` bytes and one more (so
/// that an over-long message is seen and refused by its decoder).
async fn read_bounded<T: AsyncRead + Unpin + Send>(io: &mut T, limit: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    io.take(limit as u64 + 1).read_to_end(&mut buf).await?;
    Ok(buf)
}

impl libp2p::request_response::Codec for BytesCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bounded(io, self.request_limit).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bounded(io, self.response_limit).await
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, request: Vec<u8>) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&request).await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, io: &mut T, response: Vec<u8>) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&response).await
    }
}
