//! Where the server's log lines go: stderr, a batch at a time.
//!
//! Every request logs one line. Writing it to stderr from the worker costs a
//! syscall a request; handing it to a logging thread through a channel (what
//! `tracing-appender` does) costs a thread wake-up a request instead, ~10 µs
//! of CPU and a fifth of the retrieve throughput on two cores (BENCHMARKS.md).
//! Here a line is appended to a shared buffer under a mutex, and a thread of
//! its own writes the buffer out every [`FLUSH_EVERY`], or sooner once it
//! passes [`FLUSH_AT_BYTES`]: no wake-up per line, one write per batch.
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};

/// How long a line may wait in the buffer. Short enough that a person
/// tailing the log sees a request as it happens.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Past this many buffered bytes the writer thread is woken at once, so a
/// burst never holds more than about this much memory.
pub const FLUSH_AT_BYTES: usize = 256 * 1024;

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    closing: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

impl Shared {
    /// The buffer, even if a thread panicked holding the lock: a log line
    /// half-appended is better than no log at all.
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The `MakeWriter` handed to `tracing_subscriber::fmt().with_writer`.
#[derive(Clone)]
pub struct BatchedWriter {
    shared: Arc<Shared>,
}

/// Flushes what is left and stops the writer thread when dropped: keep it
/// alive for as long as the process logs.
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A writer that batches lines into `out`, and the guard that drains it.
pub fn batched(out: impl Write + Send + 'static) -> (BatchedWriter, FlushGuard) {
    let shared = Arc::new(Shared::default());
    let drain = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("stripes-log".into())
        .spawn(move || write_batches(&drain, out))
        .expect("spawn the log writer thread");
    (
        BatchedWriter {
            shared: Arc::clone(&shared),
        },
        FlushGuard {
            shared,
            thread: Some(thread),
        },
    )
}

/// The log thread: swaps the shared buffer for an empty one and writes it,
/// until the guard says the process is closing.
fn write_batches(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::new();
    loop {
        let closing = {
            let mut pending = shared.lock();
            if !pending.closing && pending.bytes.len() < FLUSH_AT_BYTES {
                pending = shared
                    .wake
                    .wait_timeout(pending, FLUSH_EVERY)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            std::mem::swap(&mut pending.bytes, &mut batch);
            pending.closing
        };
        if !batch.is_empty() {
            // Nowhere to report a failed log write; the next batch tries again.
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            batch.clear();
            // A burst may have grown the buffer; don't keep it at its peak.
            batch.shrink_to(FLUSH_AT_BYTES);
        }
        if closing {
            return;
        }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One event's line on its way into the buffer.
pub struct LineWriter<'a> {
    shared: &'a Shared,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.shared.lock();
        pending.bytes.extend_from_slice(line);
        if pending.bytes.len() >= FLUSH_AT_BYTES {
            self.shared.wake.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
        }
    }
}

/// Formats each event as one line into the batch buffer: the line
/// tracing-subscriber's default format writes without colours,
/// `2026-11-30T19:27:00.093614Z  INFO stripes::http: request
/// operation=retrieve user="admin" elapsed_ms=0 outcome="OK"`, for a third
/// of its cost: that format's machinery (timer, styles, field visitor) was
/// ~9k instructions of a retrieve's ~145k (callgrind).
pub struct LineLayer {
    writer: BatchedWriter,
}

impl LineLayer {
    /// A layer writing into `writer`'s buffer.
    pub fn new(writer: BatchedWriter) -> Self {
        LineLayer { writer }
    }
}

impl<S: Subscriber> Layer<S> for LineLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        thread_local! {
            static LINE: std::cell::RefCell<Line> = std::cell::RefCell::default();
        }
        LINE.with(|line| match line.try_borrow_mut() {
            Ok(mut line) => self.write(&mut line, event),
            // An event logged while formatting one (a field's Display that
            // logs): a buffer of its own.
            Err(_) => self.write(&mut Line::default(), event),
        });
    }
}

impl LineLayer {
    fn write(&self, line: &mut Line, event: &Event<'_>) {
        line.format(event);
        let _ = self.writer.make_writer().write_all(line.text.as_bytes());
    }
}

/// One line's buffers, kept a thread and reused.
#[derive(Default)]
struct Line {
    text: String,
    fields: String,
    /// The second the date part of `stamp` is for, and that part.
    stamp_second: u64,
    stamp: String,
}

impl Line {
    fn format(&mut self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut visitor = Fields {
            out: &mut self.fields,
            log_target: None,
        };
        visitor.out.clear();
        event.record(&mut visitor);
        // Events from the `log` crate (actix) carry their target as a field.
        let target = visitor.log_target.take();
        let target = target.as_deref().unwrap_or(metadata.target());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        if self.stamp.is_empty() || self.stamp_second != now.as_secs() {
            self.stamp_second = now.as_secs();
            self.stamp = i64::try_from(now.as_secs())
                .ok()
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                .unwrap_or_default()
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string();
        }
        // Pushed piece by piece: one writeln! of five arguments was a
        // third of a request line's cost (callgrind).
        self.text.clear();
        self.text.push_str(&self.stamp);
        self.text.push('.');
        let micros = now.subsec_micros();
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(micros);
        for _ in digits.len()..6 {
            self.text.push('0');
        }
        self.text.push_str(digits);
        self.text.push_str("Z ");
        self.text.push_str(level_text(metadata.level()));
        self.text.push(' ');
        self.text.push_str(target);
        self.text.push_str(": ");
        self.text.push_str(&self.fields);
        self.text.push('\n');
    }
}

/// The level as the default format pads it.
fn level_text(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => " INFO",
        Level::WARN => " WARN",
        Level::ERROR => "ERROR",
    }
}

/// Writes an event's fields as the default format does: the message as it
/// is, then ` name=value`, strings quoted.
struct Fields<'a> {
    out: &'a mut String,
    log_target: Option<String>,
}

impl Fields<'_> {
    fn separate(&mut self, field: &Field) -> bool {
        if field.name().starts_with("log.") {
            return false;
        }
        if !self.out.is_empty() {
            self.out.push(' ');
        }
        if field.name() != "message" {
            self.out.push_str(field.name());
            self.out.push('=');
        }
        true
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        use std::fmt::Write as _;
        if field.name() == "log.target" {
            self.log_target = Some(value.to_string());
        } else if field.name() == "message" {
            self.separate(field);
            self.out.push_str(value);
        } else if self.separate(field) {
            // Quoted as Debug quotes it; printable ASCII without quotes or
            // backslashes (an operation, a module, an address) needs no
            // escape, and Debug's walk a character at a time is skipped.
            if value
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
            {
                self.out.push('"');
                self.out.push_str(value);
                self.out.push('"');
            } else {
                let _ = write!(self.out, "{value:?}");
            }
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.separate(field) {
            self.out.push_str(itoa::Buffer::new().format(value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.separate(field) {
            self.out.push_str(itoa::Buffer::new().format(value));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.separate(field) {
            self.out.push_str(if value { "true" } else { "false" });
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        if self.separate(field) {
            let _ = write!(self.out, "{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    /// A `Write` whose bytes the test can read after the guard is gone.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_read_as_the_default_format_writes_them_without_colours() {
        let out = Captured::default();
        let (writer, guard) = batched(out.clone());
        let subscriber = tracing_subscriber::registry().with(LineLayer::new(writer));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                operation = %"retrieve",
                user = "ad\"min",
                peer = "127.0.0.1",
                name = "Müller\n",
                elapsed_ms = 3u64,
                ok = true,
                "request"
            );
            tracing::warn!(target: "elsewhere", delta = -2i64, "odd {}", 7);
            tracing::error!(code = ?Some(1));
        });
        drop(guard);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let (stamp, rest) = lines[0].split_once(' ').unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok() && stamp.len() == 27,
            "{stamp}"
        );
        assert_eq!(
            rest,
            r#" INFO stripes::logging::tests: request operation=retrieve user="ad\"min" peer="127.0.0.1" name="Müller\n" elapsed_ms=3 ok=true"#
        );
        assert!(
            lines[1].ends_with("  WARN elsewhere: odd 7 delta=-2"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].ends_with(" ERROR stripes::logging::tests: code=Some(1)"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn every_line_is_written_by_the_time_the_guard_drops() {
        let out = Captured::default();
        let (writer, guard) = batched(out.clone());
        for i in 0..1000 {
            writeln!(writer.make_writer(), "line {i}").unwrap();
        }
        drop(guard);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[999], "line 999");
    }

    #[test]
    fn a_line_is_written_without_waiting_for_the_guard() {
        let out = Captured::default();
        let (writer, _guard) = batched(out.clone());
        writeln!(writer.make_writer(), "soon").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while out.0.lock().unwrap().is_empty() {
            assert!(std::time::Instant::now() < deadline, "line never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(&out.0.lock().unwrap()[..], b"soon\n");
    }

    #[test]
    fn a_burst_past_the_threshold_is_written_whole() {
        let out = Captured::default();
        let (writer, _guard) = batched(out.clone());
        let big = vec![b'x'; FLUSH_AT_BYTES];
        writer.make_writer().write_all(&big).unwrap();
        // The writer thread was woken; the whole burst arrives.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while out.0.lock().unwrap().len() < FLUSH_AT_BYTES {
            assert!(std::time::Instant::now() < deadline, "burst never written");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
