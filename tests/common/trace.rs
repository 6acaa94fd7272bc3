//! Captures what `tracing` records while a test runs on its thread, without the interest-cache
//! race of per-test subscribers.
//!
//! `tracing` caches, per call site, whether any subscriber wants it. With a scoped subscriber
//! (`set_default`) as the only one registered, a call site first reached on *another* test's
//! thread is asked of that thread's default (none) and cached as never wanted, and the scoped
//! subscriber then misses it: a test that looks for a span fails, and a test that looks for the
//! absence of a secret in the logs passes without having seen them. So every test binary that
//! captures gets one global subscriber that wants everything at `trace`, and routes what it
//! records to the capture open on the recording thread (none: dropped).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, Once};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A closed span: its name and its fields (with `parent`, the parent span's name).
pub type ClosedSpan = (String, BTreeMap<String, String>);

#[derive(Default)]
struct Sink {
    logs: Vec<u8>,
    spans: Vec<ClosedSpan>,
}

thread_local! {
    static SINK: RefCell<Option<Arc<Mutex<Sink>>>> = const { RefCell::new(None) };
}

fn with_sink(f: impl FnOnce(&mut Sink)) {
    // `try_with`: a span may close while the thread's locals are being torn down.
    let _ = SINK.try_with(|s| {
        if let Some(sink) = s.borrow().as_ref() {
            f(&mut sink.lock().unwrap());
        }
    });
}

/// What `tracing` recorded on this thread since [`capture`]; stops at drop.
pub struct Capture {
    sink: Arc<Mutex<Sink>>,
}

/// Starts capturing everything `tracing` records on this thread, at `trace`: the formatted log
/// lines (no ANSI colours) and every span with its fields when it closes. Tests run on their own
/// threads, and a current-thread runtime (`#[tokio::test]`) keeps the runner's tasks on it.
pub fn capture() -> Capture {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(|| ThreadWriter))
            .with(Spans);
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber in tests");
        // Call sites cached before this (none should be) are asked again.
        tracing::callsite::rebuild_interest_cache();
    });
    let sink = Arc::new(Mutex::new(Sink::default()));
    SINK.with(|s| *s.borrow_mut() = Some(sink.clone()));
    Capture { sink }
}

impl Capture {
    /// The log lines so far.
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&self.sink.lock().unwrap().logs).into_owned()
    }

    /// The spans closed so far, in the order they closed.
    pub fn closed_spans(&self) -> Vec<ClosedSpan> {
        self.sink.lock().unwrap().spans.clone()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = SINK.try_with(|s| s.borrow_mut().take());
    }
}

struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        with_sink(|s| s.logs.extend_from_slice(b));
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_string(), format!("{value:?}").trim_matches('"').to_string());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

/// Keeps every span's fields, and hands the span to the thread's capture when it closes.
struct Spans;

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut f = Fields::default();
        attrs.record(&mut f);
        if let Some(span) = ctx.span(id) {
            if let Some(parent) = span.parent() {
                f.0.insert("parent".into(), parent.name().to_string());
            }
            span.extensions_mut().insert(f);
        }
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(f) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(f);
        }
    }
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            let fields = span.extensions().get::<Fields>().map(|f| f.0.clone()).unwrap_or_default();
            with_sink(|s| s.spans.push((span.name().to_string(), fields)));
        }
    }
}
