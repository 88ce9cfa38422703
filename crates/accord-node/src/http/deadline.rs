//! The deadline of a request's body (`api.body_timeout_secs`,
//! `api.body_min_bytes_per_sec`; spec/client-api.md §8): the body has
//! `base` from the end of the request's head, plus one second per `rate`
//! bytes received, to arrive whole. A client trickling its body slower than
//! `rate` runs out of time, so it holds its connection for at most `base`
//! plus the largest body over `rate`, however it spaces its bytes; the
//! idle timeout alone would let a byte every `idle_timeout_secs` hold it
//! until the body limit. Like Apache's `mod_reqtimeout` (`body=…,MinRate=…`).

use hyper::body::{Body, Bytes, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The error a body past its deadline ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request's body did not arrive in time")]
pub struct BodyTimedOut;

/// A request's body under a deadline. Once the deadline passes, reading it
/// gives [`BodyTimedOut`] and `expired` is set, for the connection to
/// answer `408 request_timeout` and close.
pub struct Deadlined<B> {
    inner: B,
    sleep: Pin<Box<Sleep>>,
    start: Instant,
    base: Duration,
    rate: u64,
    received: u64,
    expired: Arc<AtomicBool>,
}

impl<B> Deadlined<B> {
    /// `inner` with `base` to arrive from now, plus a second per `rate`
    /// bytes received (`rate` 0: `base` whatever the size); `expired` is
    /// set if it does not.
    pub fn new(inner: B, base: Duration, rate: u64, expired: Arc<AtomicBool>) -> Self {
        let start = Instant::now();
        Self { inner, sleep: Box::pin(tokio::time::sleep_until(start + base)), start, base, rate, received: 0, expired }
    }

    /// The deadline now: `base` plus the time `received` bytes earn.
    fn deadline(&self) -> Instant {
        let earned = match self.rate {
            0 => Duration::ZERO,
            rate => Duration::from_millis(self.received.saturating_mul(1000) / rate),
        };
        self.start + self.base + earned
    }
}

impl<B> Body for Deadlined<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.expired.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(BodyTimedOut.into())));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received = this.received.saturating_add(data.len() as u64);
                    let deadline = this.deadline();
                    this.sleep.as_mut().reset(deadline);
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(other) => return Poll::Ready(other.map(|r| r.map_err(Into::into))),
            Poll::Pending => {}
        }
        match this.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.expired.store(true, Ordering::Relaxed);
                Poll::Ready(Some(Err(BodyTimedOut.into())))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `frames` frames of `bytes` bytes, one every `every`.
    struct Trickle {
        every: Duration,
        bytes: usize,
        frames: usize,
        sleep: Pin<Box<Sleep>>,
    }

    impl Trickle {
        fn new(every: Duration, bytes: usize, frames: usize) -> Self {
            Self { every, bytes, frames, sleep: Box::pin(tokio::time::sleep(every)) }
        }
    }

    impl Body for Trickle {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            let this = self.get_mut();
            if this.frames == 0 {
                return Poll::Ready(None);
            }
            std::task::ready!(this.sleep.as_mut().poll(cx));
            this.frames -= 1;
            let next = Instant::now() + this.every;
            this.sleep.as_mut().reset(next);
            Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; this.bytes])))))
        }
    }

    /// The bytes of `body`, or its error.
    async fn read<B: Body<Data = Bytes, Error = axum::BoxError> + Unpin>(mut body: B) -> Result<usize, axum::BoxError> {
        let mut total = 0;
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            total += frame?.data_ref().map_or(0, Bytes::len);
        }
        Ok(total)
    }

    #[tokio::test]
    async fn a_body_slower_than_the_rate_runs_out_of_time_and_a_faster_one_does_not() {
        let every = Duration::from_millis(30);
        let base = Duration::from_millis(300);
        // 10 bytes every 30 ms (333 a second) against a rate of 1000: a
        // third of a second earned per second, so out of time at 0.45 s.
        let expired = Arc::new(AtomicBool::new(false));
        let slow = Deadlined::new(Trickle::new(every, 10, 100), base, 1000, expired.clone());
        let started = Instant::now();
        let error = read(slow).await.expect_err("a slow body times out");
        assert!(error.is::<BodyTimedOut>());
        assert!(expired.load(Ordering::Relaxed));
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(400) && took < Duration::from_millis(1000), "{took:?}");
        // 200 bytes every 30 ms: ahead of its deadline all the way (0.6 s,
        // twice the base).
        let expired = Arc::new(AtomicBool::new(false));
        let fast = Deadlined::new(Trickle::new(every, 200, 20), base, 1000, expired.clone());
        assert_eq!(read(fast).await.expect("in time"), 20 * 200);
        assert!(!expired.load(Ordering::Relaxed));
        // Rate 0: a fixed deadline, however fast the bytes come.
        let fixed = Deadlined::new(Trickle::new(every, 10_000, 20), base, 0, expired);
        assert!(read(fixed).await.is_err());
    }
}
