//! Logging: structured `tracing` events to stderr, filtered by `RUST_LOG`.
//!
//! Events are formatted on the thread that makes them and written by a thread of their
//! own, in batches: a request costs no `write` system call of its own. When that thread
//! falls behind, callers wait for it rather than lose lines.

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogFormat;

/// Keeps the writer thread: dropping it writes what is left and stops the thread.
#[must_use = "dropping the guard stops the log writer"]
pub struct Logging {
    _writer: WorkerGuard,
}

/// Installs the global subscriber; later calls (as in tests) leave the first in place.
pub fn init(format: LogFormat) -> Logging {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,poem=warn"));
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("taskapi-log")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    // Colour only for a person at a terminal; files and collectors get plain text.
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    let _already_installed = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    Logging { _writer: guard }
}
