//! Where event lines go, and how a worker batches them.
//!
//! Each worker appends its lines to a buffer of its own and hands the buffer
//! to the [`Sink`] in one call, so lines never tear or interleave. The buffer
//! is written out before a job of 1 ms or more, once the jobs logged since
//! the last write add up to 1 ms of work, before the worker waits on an empty
//! queue, at its exit, and whenever it grows past [`FLUSH_AT`]: output stays
//! live for a person watching, while fast jobs cost no write each.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use crate::Format;

/// A worker's buffer is written out once it holds this many bytes.
pub const FLUSH_AT: usize = 8 * 1024;

/// A destination for whole log lines.
pub trait Sink: Send + Sync {
    /// Writes `lines` (whole lines, each ending in `\n`) in one piece: no
    /// other writer's lines may land inside them.
    fn write_lines(&self, lines: &[u8]) -> io::Result<()>;
}

/// Standard output, locked for each batch of lines.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdoutSink;

impl Sink for StdoutSink {
    fn write_lines(&self, lines: &[u8]) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(lines)?;
        out.flush()
    }
}

/// An in-memory log, for tests and in-process benchmarks.
#[derive(Debug, Default)]
pub struct MemorySink(Mutex<Vec<u8>>);

impl MemorySink {
    /// A copy of everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Sink for MemorySink {
    fn write_lines(&self, lines: &[u8]) -> io::Result<()> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(lines);
        Ok(())
    }
}

/// Where a pool's events go and in which format. A pool with no `Log` is
/// quiet: it records nothing per job.
#[derive(Clone)]
pub struct Log {
    /// The line format.
    pub format: Format,
    /// The destination.
    pub sink: Arc<dyn Sink>,
}

impl Log {
    /// A log to standard output.
    pub fn stdout(format: Format) -> Self {
        Log { format, sink: Arc::new(StdoutSink) }
    }

    /// A log kept in memory; read it back through the returned sink.
    pub fn memory(format: Format) -> (Self, Arc<MemorySink>) {
        let sink = Arc::new(MemorySink::default());
        (Log { format, sink: sink.clone() }, sink)
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("format", &self.format).finish_non_exhaustive()
    }
}
