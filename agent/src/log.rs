//! The daemon's log lines on stderr: a small [`tracing::Subscriber`] in the
//! line format of tracing-subscriber's default formatter (without target and
//! colours), which it replaces in the agent for flash (~18 KB on aarch64):
//!
//! `2026-12-06T23:14:22.123456Z  INFO cycle{n=1 seq=4}: token spooled cti="…"`
//!
//! — UTC time with microseconds, the level right-aligned in five columns,
//! the spans from the outermost with the fields they have so far, then the
//! message and the event's fields (strings quoted, `%` values as Display,
//! errors with their `NAME.sources=[…]`). Terminal control characters (ESC,
//! BEL, BS, FF, DEL and C1) are written escaped (`\x1b`, `\u{9b}`) anywhere
//! on the line, so a logged value cannot drive the operator's terminal.
//! A line that cannot be written (closed or full stderr) is dropped.
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_core::span::Current;

/// Sends the log lines at `max` and more severe to stderr from now on (the
/// process-wide default; a second call changes nothing).
pub fn init(max: Level) {
    let _ = tracing::subscriber::set_global_default(Logger::new(max, |line| {
        fieldattest_protocol::fsio::stderr(line)
    }));
}

/// A span as the log line shows it.
struct SpanData {
    meta: &'static Metadata<'static>,
    /// Its fields formatted so far, `a=1 b="x"`.
    fields: String,
    parent: Option<Id>,
    /// Handles to it plus its open children (a parent outlives its children).
    refs: usize,
}

thread_local! {
    /// The spans this thread is in, innermost last.
    static STACK: RefCell<Vec<Id>> = const { RefCell::new(Vec::new()) };
}

/// The subscriber: a level filter, the open spans, and where lines go.
pub struct Logger {
    max: Level,
    time: bool,
    next: AtomicU64,
    spans: Mutex<HashMap<u64, SpanData>>,
    out: Box<dyn Fn(&str) + Send + Sync>,
}

impl Logger {
    /// Lines at `max` and more severe, each passed whole to `out`.
    pub fn new(max: Level, out: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Logger {
            max,
            time: true,
            next: AtomicU64::new(1),
            spans: Mutex::new(HashMap::new()),
            out: Box::new(out),
        }
    }

    /// Without the time stamp (for comparing lines in tests).
    pub fn without_time(mut self) -> Self {
        self.time = false;
        self
    }

    fn spans(&self) -> MutexGuard<'_, HashMap<u64, SpanData>> {
        self.spans.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The innermost span this thread is in that is still open.
    fn current(&self) -> Option<Id> {
        let spans = self.spans();
        STACK.with(|s| {
            s.borrow()
                .iter()
                .rev()
                .find(|id| spans.contains_key(&id.into_u64()))
                .cloned()
        })
    }

    /// `span{fields}:` for `id` and its parents, outermost first, then a space.
    fn scope(&self, id: Option<Id>, line: &mut String) {
        let spans = self.spans();
        let mut chain = Vec::new();
        let mut next = id.and_then(|i| spans.get(&i.into_u64()));
        while let Some(s) = next {
            chain.push(s);
            next = s.parent.as_ref().and_then(|p| spans.get(&p.into_u64()));
        }
        for s in chain.iter().rev() {
            line.push_str(s.meta.name());
            if !s.fields.is_empty() {
                line.push('{');
                line.push_str(&s.fields);
                line.push('}');
            }
            line.push(':');
        }
        if !chain.is_empty() {
            line.push(' ');
        }
    }
}

/// Formats fields as `message a=1 b="x"`, space-separated.
struct Fields<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Fields<'a> {
    fn new(out: &'a mut String) -> Self {
        Fields { out, first: true }
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"))
        } else {
            self.record_debug(field, &value)
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        match value.source() {
            Some(source) => self.record_debug(
                field,
                &format_args!("{value} {}.sources={}", field.name(), Sources(source)),
            ),
            None => self.record_debug(field, &format_args!("{value}")),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !std::mem::take(&mut self.first) {
            self.out.push(' ');
        }
        let _ = match field.name() {
            "message" => write!(self.out, "{value:?}"),
            name => {
                let name = name.strip_prefix("r#").unwrap_or(name);
                write!(self.out, "{name}={value:?}")
            }
        };
    }
}

/// An error and its sources as `[outer, inner]`.
struct Sources<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for Sources<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        let mut next = Some(self.0);
        while let Some(e) = next {
            list.entry(&format_args!("{e}"));
            next = e.source();
        }
        list.finish()
    }
}

/// Appends `s` with terminal control characters escaped.
fn push_escaped(line: &mut String, s: &str) {
    for c in s.chars() {
        let _ = match c {
            '\x1b' | '\x07' | '\x08' | '\x0c' | '\x7f' => write!(line, "\\x{:02x}", c as u32),
            '\u{80}'..='\u{9f}' => write!(line, "\\u{{{:x}}}", c as u32),
            c => {
                line.push(c);
                Ok(())
            }
        };
    }
}

impl Subscriber for Logger {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        *meta.level() <= self.max
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::from_level(self.max))
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let parent = match attrs.parent() {
            Some(p) => Some(p.clone()),
            None if attrs.is_contextual() => self.current(),
            None => None,
        };
        let mut fields = String::new();
        attrs.record(&mut Fields::new(&mut fields));
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut spans = self.spans();
        if let Some(p) = parent.as_ref().and_then(|p| spans.get_mut(&p.into_u64())) {
            p.refs += 1;
        }
        let meta = attrs.metadata();
        spans.insert(
            id,
            SpanData {
                meta,
                fields,
                parent,
                refs: 1,
            },
        );
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut more = String::new();
        values.record(&mut Fields::new(&mut more));
        if let Some(s) = self.spans().get_mut(&span.into_u64()) {
            if !s.fields.is_empty() {
                s.fields.push(' ');
            }
            s.fields.push_str(&more);
        }
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = String::with_capacity(128);
        if self.time {
            let now = SystemTime::now();
            // humantime cannot show times before 1970 or after 9999.
            let ok = now.duration_since(UNIX_EPOCH).is_ok()
                && write!(line, "{}", humantime::format_rfc3339_micros(now)).is_ok();
            if !ok {
                line.clear();
                line.push_str("<unknown time>");
            }
            line.push(' ');
        }
        let _ = write!(line, "{:>5} ", event.metadata().level().as_str());
        let scope = match event.parent() {
            Some(p) => Some(p.clone()),
            None if event.is_contextual() => self.current(),
            None => None,
        };
        self.scope(scope, &mut line);
        let mut fields = String::new();
        event.record(&mut Fields::new(&mut fields));
        push_escaped(&mut line, &fields);
        line.push('\n');
        (self.out)(&line);
    }

    fn enter(&self, span: &Id) {
        STACK.with(|s| s.borrow_mut().push(span.clone()));
    }

    fn exit(&self, span: &Id) {
        STACK.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(i) = s.iter().rposition(|x| x == span) {
                s.remove(i);
            }
        });
    }

    fn clone_span(&self, span: &Id) -> Id {
        if let Some(s) = self.spans().get_mut(&span.into_u64()) {
            s.refs += 1;
        }
        span.clone()
    }

    fn try_close(&self, span: Id) -> bool {
        let mut spans = self.spans();
        let mut next = Some(span.into_u64());
        let mut closed = false;
        let mut first = true;
        while let Some(id) = next.take() {
            let Some(s) = spans.get_mut(&id) else { break };
            s.refs = s.refs.saturating_sub(1);
            if s.refs == 0 {
                next = spans
                    .remove(&id)
                    .and_then(|s| s.parent)
                    .map(|p| p.into_u64());
                closed |= first;
            }
            first = false;
        }
        closed
    }

    fn current_span(&self) -> Current {
        let Some(id) = self.current() else {
            return Current::none();
        };
        match self.spans().get(&id.into_u64()) {
            Some(s) => Current::new(id, s.meta),
            None => Current::none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tracing::{debug, error, info, info_span, warn, Instrument};

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("cannot spool")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    /// What the daemon logs, in its shapes: nested spans, fields recorded
    /// later, a span carried to another thread, Display, Debug and error
    /// values, a filtered-out level.
    fn workload() {
        info!("starting");
        let cycle = info_span!("cycle", n = 1u64, seq = tracing::field::Empty);
        {
            let _g = cycle.enter();
            warn!(spooled = 3usize, dir = "/var/lib/x y", "spool nearly full");
            tracing::Span::current().record("seq", 7u64);
            let inner = info_span!("deliver", url = %"https://c.example:8443/a");
            inner.in_scope(|| {
                info!(delivered = true, ratio = 0.5f64, "delivered");
                let e = Outer(std::io::Error::other("disk full"));
                error!(
                    error = &e as &(dyn std::error::Error + 'static),
                    "write failed"
                );
                let plain = std::io::Error::other("no route");
                warn!(
                    error = &plain as &(dyn std::error::Error + 'static),
                    "retry"
                );
            });
            // As the daemon hands its span to spawn_blocking.
            let here = tracing::Span::current();
            let dispatch = tracing::dispatcher::get_default(|d| d.clone());
            std::thread::spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    here.in_scope(|| info!(r#type = "scan", "on a blocking thread"))
                })
            })
            .join()
            .unwrap();
            debug!("not shown at info");
        }
        info!(parent: &cycle, "explicit parent");
        info!(parent: None, "root despite the context");
        drop(cycle);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(
            async { info!(cti = "a\"b", "in a future") }.instrument(info_span!("cycle", n = 2u64)),
        );
        info!("message with \x1b[31m escape \u{9b} and\ttab");
    }

    fn capture(f: impl FnOnce()) -> (String, Arc<Logger>) {
        let buf = Arc::new(Mutex::new(String::new()));
        let b = buf.clone();
        let logger = Arc::new(
            Logger::new(Level::INFO, move |l| b.lock().unwrap().push_str(l)).without_time(),
        );
        tracing::subscriber::with_default(logger.clone(), f);
        let out = buf.lock().unwrap().clone();
        (out, logger)
    }

    #[test]
    fn lines_equal_tracing_subscribers_fmt() {
        let (ours, logger) = capture(workload);
        let buf = Arc::new(Mutex::new(Vec::new()));
        let b = buf.clone();
        let fmt = tracing_subscriber::fmt()
            .with_writer(move || Sink(b.clone()))
            .with_max_level(Level::INFO)
            .with_target(false)
            .with_ansi(false)
            .without_time()
            .finish();
        tracing::subscriber::with_default(fmt, workload);
        let theirs = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        assert_eq!(ours.lines().count(), 10, "{ours}");
        assert_eq!(ours, theirs);
        assert!(ours.contains("cycle{n=1 seq=7}:deliver{url=https://c.example:8443/a}: delivered"));
        assert!(ours.contains("\\x1b[31m escape \\u{9b}"), "{ours}");
        assert!(logger.spans().is_empty(), "spans left open");
    }

    #[test]
    fn control_characters_in_display_values_are_escaped() {
        let (out, _) = capture(|| warn!(path = %"a\x1b]0;x\x07b", "odd"));
        assert_eq!(out, " WARN odd path=a\\x1b]0;x\\x07b\n");
    }

    #[test]
    fn a_line_has_the_time_and_the_level() {
        let buf = Arc::new(Mutex::new(String::new()));
        let b = buf.clone();
        let logger = Logger::new(Level::WARN, move |l| b.lock().unwrap().push_str(l));
        tracing::subscriber::with_default(logger, || {
            info!("hidden");
            error!(code = 3, "stop");
        });
        let out = buf.lock().unwrap().clone();
        let (time, rest) = out.split_once(' ').unwrap();
        assert_eq!(rest, "ERROR stop code=3\n");
        let t = humantime::parse_rfc3339(time).unwrap();
        assert!(SystemTime::now().duration_since(t).unwrap().as_secs() < 60);
        assert_eq!(time.len(), "2026-12-06T23:14:22.123456Z".len(), "{time}");
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
