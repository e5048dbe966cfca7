//! The `Sink` seam every output writer implements, so generation is format-blind.

use crate::error::Result;
use crate::model::Event;

/// A destination for a stream of events (one output file).
pub trait Sink: Send {
    /// Writes one event.
    fn write(&mut self, ev: &Event) -> Result<()>;
    /// Flushes and closes; returns the file size in bytes.
    fn finish(self: Box<Self>) -> Result<u64>;
}
