//! The `/accord/media/1` codec (spec/federation.md §10): a request and a
//! response, each the whole of its half of the stream, as bytes bounded by
//! their largest size. The node decodes them with accord-proto's
//! `MediaRequest` and `MediaResponse`.

use accord_proto::media::{MEDIA_REQUEST_BYTES, MediaResponse};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use std::io;

/// Reads and writes media messages as bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct MediaCodec;

/// Reads to the end of the stream, at most `limit` bytes and one more (so
/// that an over-long message is seen and refused by its decoder).
async fn read_bounded<T: AsyncRead + Unpin + Send>(io: &mut T, limit: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    io.take(limit as u64 + 1).read_to_end(&mut buf).await?;
    Ok(buf)
}

impl libp2p::request_response::Codec for MediaCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bounded(io, MEDIA_REQUEST_BYTES).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bounded(io, MediaResponse::MAX_BYTES).await
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
