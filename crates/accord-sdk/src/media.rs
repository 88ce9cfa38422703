//! Media: uploading files, sending them in messages, fetching them
//! (spec/client-api.md §10).

use crate::client::Client;
use crate::error::{Result, SdkError};
use accord_api::media::MediaUploaded;
use accord_proto::Sha256Hash;
use reqwest::Method;

/// The largest file fetched (the node's own limit is 10 MiB by default).
pub const MAX_MEDIA_BYTES: usize = 64 * 1024 * 1024;

impl Client {
    /// Uploads a file (`POST /v1/media`). The node sniffs its type, strips
    /// an image's metadata by re-encoding it and answers with the
    /// attachment to put in a message ([`MediaUploaded::attachment`]): its
    /// hash is that of the stored bytes, not of `bytes`.
    pub async fn upload_media(&self, bytes: Vec<u8>) -> Result<MediaUploaded> {
        let url = self.inner.http.url(&["v1", "media"]);
        let body = self.authed_raw(Method::POST, url, Some(bytes)).await?;
        serde_json::from_slice(&body).map_err(|e| SdkError::Protocol(format!("upload answer: {e}")))
    }

    /// Fetches a file by hash (`GET /v1/media/{hash}`) and checks that the
    /// bytes hash to it.
    pub async fn fetch_media(&self, hash: &Sha256Hash) -> Result<Vec<u8>> {
        let url = self.inner.http.url(&["v1", "media", &hash.to_string()]);
        let bytes = self.authed_raw(Method::GET, url, None).await?;
        if Sha256Hash::digest(&bytes) != *hash {
            return Err(SdkError::Protocol(format!("the node served bytes that do not hash to {hash}")));
        }
        Ok(bytes)
    }

    /// Fetches the thumbnail of an image (`GET
    /// /v1/media/{hash}/thumbnail`).
    pub async fn fetch_thumbnail(&self, hash: &Sha256Hash) -> Result<Vec<u8>> {
        let url = self.inner.http.url(&["v1", "media", &hash.to_string(), "thumbnail"]);
        self.authed_raw(Method::GET, url, None).await
    }

    /// An authenticated request with a raw body, answered with raw bytes;
    /// logs in again once if the session was refused.
    async fn authed_raw(&self, method: Method, url: reqwest::Url, body: Option<Vec<u8>>) -> Result<Vec<u8>> {
        let http = &self.inner.http;
        let build = |token: &str| {
            let req = http.request::<()>(method.clone(), url.clone(), Some(token), None);
            match &body {
                Some(bytes) => {
                    req.header(reqwest::header::CONTENT_TYPE, "application/octet-stream").body(bytes.clone())
                }
                None => req,
            }
        };
        let (token, generation) = self.session_token().await?;
        match http.send_raw(build(&token), MAX_MEDIA_BYTES).await {
            Err(SdkError::Api { status: 401, code, .. }) if code == "unauthenticated" => {
                self.invalidate_session(generation).await;
                let (token, _) = self.session_token().await?;
                http.send_raw(build(&token), MAX_MEDIA_BYTES).await
            }
            other => other,
        }
    }
}
