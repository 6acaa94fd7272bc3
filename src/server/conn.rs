//! The transport of the readiness service: HTTP/1 connections with a cap, a header-read
//! timeout, an idle timeout, bounded request heads, and a graceful shutdown whose drain is
//! bounded.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// Connection limits and shutdown behaviour of [`serve`].
///
/// ```
/// use std::time::Duration;
/// use nexus_readiness::server::ServeOptions;
///
/// let o = ServeOptions::default().max_connections(256).shutdown_drain(Duration::from_secs(5));
/// assert_eq!(o.max_connections, 256);
/// assert_eq!(o.header_read_timeout, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServeOptions {
    /// How long a client may take to send a request head, from connecting or from the end of
    /// its previous request (default 10 s). A client that sends nothing is closed after it.
    pub header_read_timeout: Duration,
    /// How long a connection may go without moving a byte while no request of it is being
    /// answered (default 60 s): a client that stops reading its answer is closed after it.
    pub idle_timeout: Duration,
    /// Connections held at once (default 512). Beyond it, new connections are closed at once.
    pub max_connections: usize,
    /// Largest request head in bytes (default 16 KiB): larger ones are refused.
    pub max_header_bytes: usize,
    /// How long a shutdown waits for requests in flight before closing their connections
    /// (default 10 s).
    pub shutdown_drain: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
            max_header_bytes: 16 * 1024,
            shutdown_drain: Duration::from_secs(10),
        }
    }
}

impl ServeOptions {
    /// Sets the header-read timeout.
    pub fn header_read_timeout(mut self, d: Duration) -> Self {
        self.header_read_timeout = d;
        self
    }

    /// Sets the idle timeout.
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = d;
        self
    }

    /// Sets the connection cap (at least 1).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Sets the largest request head accepted (at least 8 KiB).
    pub fn max_header_bytes(mut self, n: usize) -> Self {
        self.max_header_bytes = n.max(8192);
        self
    }

    /// Sets how long a shutdown drains requests in flight.
    pub fn shutdown_drain(mut self, d: Duration) -> Self {
        self.shutdown_drain = d;
        self
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, with the limits of `options`.
///
/// Unlike a bare `axum::serve`, no client can hold a connection without sending a request
/// (header-read timeout), leave one open forever (idle timeout), open more than
/// `max_connections`, or send an unbounded request head. When `shutdown` resolves (Ctrl-C,
/// SIGTERM), the listener closes, idle connections close, requests in flight get up to
/// `shutdown_drain` to finish, and then every connection is dropped: the function returns
/// even when a probe is stuck, so the process can exit.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use nexus_readiness::run::{Plan, Runner};
/// use nexus_readiness::server::{ReadinessService, ServeOptions, ServerConfig, serve};
///
/// let plan = Plan::new(nexus_readiness::builtin::nexus());
/// let service = ReadinessService::new(plan, Runner::builder().build(), ServerConfig::default());
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:9464").await?;
/// serve(listener, service.router(), ServeOptions::default(), async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await
/// # }
/// ```
///
/// # Errors
/// Only when the listener fails for good; failed accepts (too many open files) are retried.
pub async fn serve<F>(listener: TcpListener, router: Router, options: ServeOptions, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, max = options.max_connections, "connection refused: at the connection cap");
            drop(stream);
            continue;
        };
        let router = router.clone();
        let options = options.clone();
        let stop = stop_rx.clone();
        conns.spawn(async move {
            serve_connection(stream, router, &options, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained =
        tokio::time::timeout(options.shutdown_drain, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            left = conns.len(),
            drain = ?options.shutdown_drain,
            "shutdown: requests still in flight after the drain, closing their connections"
        );
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
    Ok(())
}

/// A stream that records when a byte last moved.
struct Tracked<S> {
    inner: S,
    last: Arc<AtomicU64>,
    epoch: Instant,
}

impl<S> Tracked<S> {
    fn touch(&self) {
        self.last.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Counts a request as in flight while its handler runs.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(n: &Arc<AtomicUsize>) -> Self {
        n.fetch_add(1, Ordering::Relaxed);
        InFlight(n.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve_connection(stream: TcpStream, router: Router, options: &ServeOptions, mut stop: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let epoch = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let active = Arc::new(AtomicUsize::new(0));
    let io = TokioIo::new(Tracked { inner: stream, last: last.clone(), epoch });
    let tower = TowerToHyperService::new(router);
    let counter = active.clone();
    let svc = hyper::service::service_fn(move |req| {
        let guard = InFlight::enter(&counter);
        let fut = hyper::service::Service::call(&tower, req);
        async move {
            let r = fut.await;
            drop(guard);
            r
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(options.max_header_bytes.max(8192))
        .max_headers(64)
        .keep_alive(true);
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    let idle = options.idle_timeout;
    let tick = (idle / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut watchdog = tokio::time::interval(tick);
    let mut stopping = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection closed with an error");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                // Idle connections close now; one with a request in flight after its answer.
                stopping = true;
                if changed.is_ok() || *stop.borrow() {
                    conn.as_mut().graceful_shutdown();
                }
            }
            _ = watchdog.tick() => {
                let quiet = epoch.elapsed().saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
                if active.load(Ordering::Relaxed) == 0 && quiet >= idle {
                    tracing::debug!(idle = ?idle, "closing an idle connection");
                    return;
                }
            }
        }
    }
}
